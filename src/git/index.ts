export { scrubGitEnv } from './env.js';
export type { FsInfo } from './filesystem.js';
export { filesystemOf } from './filesystem.js';
export type { RepoErrorCode, RepoInfo } from './repo.js';
export { discoverRepo, RepoError, readConfig } from './repo.js';
export { type SocketLocation, socketLocationFor } from './socket.js';
