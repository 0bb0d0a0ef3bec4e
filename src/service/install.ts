/** Writing, starting and removing a worktree's units in the systemd user manager. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { systemctl } from './systemctl.js';
import { type UnitSpec, unitBaseName, unitFiles } from './units.js';

/** Where systemd --user reads units written by the user. */
export function unitDir(env: NodeJS.ProcessEnv = process.env): string {
  const config = env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config');
  return path.join(config, 'systemd', 'user');
}

export interface InstalledUnits {
  name: string;
  socketFile: string;
  serviceFile: string;
}

export function unitsOf(gitDir: string): InstalledUnits {
  const name = unitBaseName(gitDir);
  const dir = unitDir();
  return {
    name,
    socketFile: path.join(dir, `${name}.socket`),
    serviceFile: path.join(dir, `${name}.service`),
  };
}

export const unitsInstalled = (gitDir: string) => fs.existsSync(unitsOf(gitDir).socketFile);

export class ServiceError extends Error {}

async function must(args: string[]): Promise<void> {
  const r = await systemctl(args);
  if (!r.ok) throw new ServiceError(`'systemctl --user ${args.join(' ')}' failed: ${r.error}`);
}

/** Writes the units, then enables (at log-in) and starts the socket: it listens when this returns. */
export async function installUnits(spec: Omit<UnitSpec, 'name'>): Promise<InstalledUnits> {
  const units = unitsOf(spec.gitDir);
  const text = unitFiles({ ...spec, name: units.name });
  fs.mkdirSync(path.dirname(units.socketFile), { recursive: true });
  fs.writeFileSync(units.serviceFile, text.service, { mode: 0o644 });
  fs.writeFileSync(units.socketFile, text.socket, { mode: 0o644 });
  await must(['daemon-reload']);
  await must(['enable', '--now', `${units.name}.socket`]);
  return units;
}

/**
 * Stops the daemon and the socket (RemoveOnStop removes the socket file), removes the units.
 * Resolves with what failed, as lines to show; the files go either way.
 */
export async function removeUnits(gitDir: string): Promise<string[]> {
  const units = unitsOf(gitDir);
  const failed: string[] = [];
  for (const args of [
    ['disable', '--now', `${units.name}.socket`],
    ['stop', `${units.name}.service`],
  ]) {
    const r = await systemctl(args);
    if (!r.ok) failed.push(`'systemctl --user ${args.join(' ')}' failed: ${r.error}`);
  }
  deleteUnitFiles(units.name);
  const reload = await systemctl(['daemon-reload']);
  if (!reload.ok) failed.push(`'systemctl --user daemon-reload' failed: ${reload.error}`);
  return failed;
}

/**
 * After the worktree vanished, from its daemon: stop the socket listening, keep it from coming
 * back at log-in and remove the units (no `disable` can run at a path that is gone), or systemd
 * would start a daemon that exits at once on every connection. `unit` is the socket unit's name
 * from SOCKET_UNIT_ENV. Resolves with the failure to log, or null; what happens then is in
 * docs/ipc-mode.md (the daemon under activation).
 */
export async function retireSocketUnit(unit: string): Promise<string | null> {
  const base = /^(git-fsmond-[^/]+)\.socket$/.exec(unit)?.[1];
  if (!base) return `'${unit}' is not a socket unit of git-fsmond; left alone`;
  const r = await systemctl(['--no-block', 'disable', '--now', unit]);
  deleteUnitFiles(base);
  await systemctl(['--no-block', 'daemon-reload']);
  return r.ok ? null : `'systemctl --user disable --now ${unit}' failed: ${r.error}`;
}

function deleteUnitFiles(base: string): void {
  for (const suffix of ['.socket', '.service']) {
    fs.rmSync(path.join(unitDir(), `${base}${suffix}`), { force: true });
  }
}

/** `systemctl --user is-active` of the socket: "active" while it listens. */
export async function socketUnitState(gitDir: string): Promise<string> {
  const r = await systemctl(['is-active', `${unitsOf(gitDir).name}.socket`]);
  return r.stdout.trim() || r.error;
}

/**
 * Stops the daemon's service (the socket keeps listening), without connecting to the socket:
 * that would start it. Resolves with the pid it had, or null when it was not running.
 */
export async function stopService(gitDir: string): Promise<number | null> {
  const service = `${unitsOf(gitDir).name}.service`;
  const shown = await systemctl(['show', '--property=MainPID', '--value', service]);
  const pid = Number(shown.stdout.trim());
  if (!shown.ok || !(pid > 0)) return null;
  await must(['stop', service]);
  return pid;
}
