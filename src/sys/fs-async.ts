/**
 * The few promise-returning file calls the daemon makes, on Node's callback API. Importing
 * node:fs/promises costs a process ~0.6-0.85 MB RSS for its whole life (bench/README.md "Daemon
 * memory"); these wrappers cost nothing beyond node:fs, which every process has loaded.
 */
import fs from 'node:fs';

type Callback<T> = (err: NodeJS.ErrnoException | null, value: T) => void;

function call<T>(start: (cb: Callback<T>) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    start((err, value) => (err ? reject(err) : resolve(value)));
  });
}

export const lstat = (p: string) => call<fs.Stats>((cb) => fs.lstat(p, cb));
export const unlink = (p: string) => call<void>((cb) => fs.unlink(p, (e) => cb(e, undefined)));
export const chmod = (p: string, mode: number) =>
  call<void>((cb) => fs.chmod(p, mode, (e) => cb(e, undefined)));
export const link = (from: string, to: string) =>
  call<void>((cb) => fs.link(from, to, (e) => cb(e, undefined)));
export const rename = (from: string, to: string) =>
  call<void>((cb) => fs.rename(from, to, (e) => cb(e, undefined)));
export const open = (p: string, flags: fs.OpenMode, mode?: number) =>
  call<number>((cb) => fs.open(p, flags, mode, cb));
export const close = (fd: number) => call<void>((cb) => fs.close(fd, (e) => cb(e, undefined)));
export const fstat = (fd: number) => call<fs.Stats>((cb) => fs.fstat(fd, cb));
export const writeText = (fd: number, text: string) =>
  call<void>((cb) => fs.writeFile(fd, text, (e) => cb(e, undefined)));
export const readText = (fd: number) =>
  call<string>((cb) => fs.readFile(fd, 'latin1', (e, s) => cb(e, s)));
export const stat = (p: string) => call<fs.Stats>((cb) => fs.stat(p, cb));
export const statfs = (p: string) => call<fs.StatsFs>((cb) => fs.statfs(p, cb));
