/**
 * Runs lifecycle-ns-child.js in a user namespace of its own (`unshare -U -r`, plus `-m` for a
 * mount namespace): there a tmpfs can be mounted and unmounted, and the inotify watch limit
 * (`/proc/sys/user/max_inotify_watches`) lowered, without touching anything machine-wide.
 * Resolves with the child's one JSON line, or {skip} when namespaces are unavailable.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'lifecycle-ns-child.js');

export type NsMode = 'unmount' | 'enospc';

export function runInNamespace(mode: NsMode): Promise<Record<string, unknown>> {
  const ns = mode === 'unmount' ? ['-U', '-r', '-m'] : ['-U', '-r'];
  return new Promise((resolve) => {
    const p = spawn('unshare', [...ns, process.execPath, CHILD, mode, '--in-user-namespace'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => {
      out += d;
    });
    p.stderr.on('data', (d) => {
      err += d;
    });
    const guard = setTimeout(() => p.kill('SIGKILL'), 120_000);
    p.on('error', (e) => {
      clearTimeout(guard);
      resolve({ skip: `cannot run unshare: ${e.message}` });
    });
    p.on('close', (code) => {
      clearTimeout(guard);
      const line = out.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(line) as Record<string, unknown>);
      } catch {
        const why = `exit ${code}: ${err.trim() || out.trim()}`;
        if (/^unshare:/m.test(err)) resolve({ skip: `user namespaces unavailable (${why})` });
        else resolve({ error: `child produced no result (${why})` });
      }
    });
  });
}
