/**
 * A real systemd user manager for one test file, where none runs (containers, this project's
 * VMs): `systemd --user` refuses to start unless /run/systemd/system exists, so it runs in a
 * private mount namespace with a tmpfs over /run; the host is untouched. systemctl and
 * everything else run outside, reaching it through XDG_RUNTIME_DIR. Needs root (for the mount
 * namespace), unshare and the systemd binary; otherwise `skip` says which is missing.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import { onPath } from './compat-git.js';

const SYSTEMD = ['/lib/systemd/systemd', '/usr/lib/systemd/systemd'].find((p) => fs.existsSync(p));

export function userManagerSkip(): string | false {
  if (process.geteuid?.() !== 0)
    return 'a private systemd user manager needs root (mount namespace)';
  if (!onPath('unshare')) return 'unshare not found (Debian package util-linux)';
  if (!SYSTEMD || !onPath('systemctl')) return 'systemd not found (Debian package systemd)';
  return false;
}

export class UserManager {
  private child: ChildProcess | null = null;

  /** `env` must hold XDG_RUNTIME_DIR (a fresh 0700 dir), HOME and XDG_CONFIG_HOME. */
  constructor(readonly env: NodeJS.ProcessEnv) {}

  async start(): Promise<void> {
    const script = 'mount -t tmpfs tmpfs /run && mkdir -p /run/systemd/system && exec "$0" --user';
    this.child = spawn(
      'unshare',
      ['-m', '--propagation', 'private', 'sh', '-c', script, SYSTEMD!],
      {
        env: this.env,
        stdio: 'ignore',
      },
    );
    const deadline = Date.now() + 20_000;
    while (this.state() !== 'running') {
      if (Date.now() > deadline)
        throw new Error(`the user manager did not start (${this.state()})`);
      if (this.child.exitCode !== null)
        throw new Error(`systemd --user exited with ${this.child.exitCode}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  state(): string {
    try {
      return execFileSync('systemctl', ['--user', 'show', '--property=SystemState', '--value'], {
        env: this.env,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim();
    } catch {
      return 'unreachable';
    }
  }

  /** Stops it (and with it every service it runs). */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await gone;
    clearTimeout(timer);
  }
}
