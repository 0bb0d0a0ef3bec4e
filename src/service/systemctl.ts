/** `systemctl --user`: the only way in to the user's service manager. */
import { execFile } from 'node:child_process';

/** A user manager that hangs must not hang `enable` or a daemon's exit. */
const TIMEOUT_MS = 10_000;

export interface SystemctlResult {
  ok: boolean;
  stdout: string;
  /** The failure, as one line (stderr, or why it could not run). */
  error: string;
}

export function systemctl(args: string[]): Promise<SystemctlResult> {
  return new Promise((resolve) => {
    execFile('systemctl', ['--user', ...args], { timeout: TIMEOUT_MS }, (err, stdout, stderr) => {
      const error = err
        ? (stderr.trim().split('\n')[0] ?? '') || (err as NodeJS.ErrnoException).code || err.message
        : '';
      resolve({ ok: !err, stdout: String(stdout), error: String(error) });
    });
  });
}

/**
 * Whether a systemd user manager answers, by its SystemState. Not `is-system-running`: that
 * says "offline" whenever systemd is not PID 1, even to a user manager that runs.
 */
export async function userManager(): Promise<{ reachable: boolean; why: string }> {
  const r = await systemctl(['show', '--property=SystemState', '--value']);
  const state = r.ok ? r.stdout.trim() : '';
  if (['running', 'degraded', 'starting', 'initializing'].includes(state)) {
    return { reachable: true, why: `systemd user manager is ${state}` };
  }
  const detail = state || r.error || 'no answer';
  return {
    reachable: false,
    why: `no systemd user manager is reachable (systemctl --user: ${detail})`,
  };
}
