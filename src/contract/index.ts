export {
  type DaemonEntry,
  registerDaemon,
  runningDaemons,
  runsGitFsmond,
  runtimeDir,
  unregisterDaemon,
} from './daemons.js';
export { DAEMON_NODE_OPTION, daemonNodeOptions, HOOK_LIMITS, START_STATUS } from './hook.js';
export {
  findSocket,
  LAYOUT,
  REFUSED_FRESH_MS,
  socketPathFor,
  stateDirFor,
  stateFile,
} from './layout.js';
export { BUILD_DIR, PACKAGE_ROOT, packageRequire, packageVersion } from './package.js';
export { SHIM_HOME_ENV, SHIM_HOME_LAYOUT, shimHome, shimHomeFile } from './shim-home.js';
export { type DaemonStatus, TRIVIAL_REASON, type TrivialReason } from './status.js';
export { NEVER_VALID_ID_PREFIX, REQUEST } from './wire.js';
