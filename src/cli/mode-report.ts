/** Which mode git reaches the daemon in here, and why: for `doctor` and `status --json`. */
import type { RepoInfo } from '../git/index.js';
import { type MonitorMode, socketUnitState, unitsInstalled, unitsOf } from '../service/index.js';
import { monitorKind } from './config.js';
import { type Check, check } from './doctor-config.js';
import { chooseMode } from './ipc-mode.js';

export interface ModeReport {
  /** Null when git-fsmond is not enabled here. */
  mode: MonitorMode | null;
  reason: string;
  verdict: Check['status'];
  advice: string | null;
}

const ENABLE = "run 'git fsmond enable'";

export async function modeReport(repo: RepoInfo, fsmonitor: string | null): Promise<ModeReport> {
  const kind = monitorKind(fsmonitor);
  const installed = unitsInstalled(repo.gitDir);
  const unit = `${unitsOf(repo.gitDir).name}.socket`;
  if (kind === 'ipc') {
    if (!installed) {
      return {
        mode: 'ipc',
        reason: `core.fsmonitor=true, but no socket unit of ours holds the socket: whenever no daemon listens, git starts its builtin one`,
        verdict: 'warn',
        advice: ENABLE,
      };
    }
    const state = await socketUnitState(repo.gitDir);
    if (state !== 'active') {
      return {
        mode: 'ipc',
        reason: `${unit} is ${state}, not listening: git starts its builtin daemon when nothing listens`,
        verdict: 'fail',
        advice: `systemctl --user start ${unit}, or ${ENABLE}`,
      };
    }
    return {
      mode: 'ipc',
      reason: `via socket activation: ${unit} (systemd --user) holds the socket; git asks the daemon without a hook`,
      verdict: 'ok',
      advice: null,
    };
  }
  if (kind !== 'c' && kind !== 'node') {
    return { mode: null, reason: 'git-fsmond is not enabled here', verdict: 'ok', advice: null };
  }
  if (installed) {
    return {
      mode: 'hook',
      reason: `${unit} is still installed although core.fsmonitor is the hook`,
      verdict: 'warn',
      advice: ENABLE,
    };
  }
  const choice = await chooseMode(repo, {});
  if (choice.mode === 'ipc') {
    return {
      mode: 'hook',
      reason: `the hook shim, although IPC mode would work here (${choice.reason})`,
      verdict: 'ok',
      advice: "'git fsmond enable' switches to it (unless you chose --hook)",
    };
  }
  return { mode: 'hook', reason: `the hook shim: ${choice.reason}`, verdict: 'ok', advice: null };
}

export function checkMode(r: ModeReport): Check {
  return check('mode', r.verdict, `${r.mode ?? 'none'}: ${r.reason}`, r.advice);
}
