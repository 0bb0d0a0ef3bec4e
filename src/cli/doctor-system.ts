/** The checks of `doctor` about the machine, the worktree and the daemon. */
import fs from 'node:fs';
import path from 'node:path';
import { filesystemOf, type RepoInfo } from '../git/index.js';
import {
  ANSWER_WITHIN_MS,
  describeMute,
  fetchStatus,
  lastRefusal,
  probeDaemon,
  request,
  socketOf,
  startBlocker,
} from './control.js';
import { type Check, check } from './doctor-config.js';

/**
 * Whether the index carries an untracked-cache extension ("UNTR" and its size, among the
 * extensions after the entries). A heuristic: entries are not parsed, so a path with "UNTR" in
 * it could fool it; the size must fit in the file, which makes that unlikely.
 */
export function checkUntrackedCacheInIndex(repo: RepoInfo, enabled: boolean): Check {
  const name = 'untracked cache';
  let index: Buffer;
  try {
    index = fs.readFileSync(path.join(repo.gitDir, 'index'));
  } catch {
    return check(name, 'warn', 'no index yet', "run 'git status' once");
  }
  for (let at = index.lastIndexOf('UNTR'); at > 12; at = index.lastIndexOf('UNTR', at - 1)) {
    if (at + 8 + index.readUInt32BE(at + 4) <= index.length - 20) {
      return check(name, 'ok', 'the index has an untracked cache');
    }
  }
  return enabled
    ? check(
        name,
        'warn',
        'the index has no untracked cache yet',
        "run 'git status' once to build it",
      )
    : check(
        name,
        'warn',
        'the index has no untracked cache',
        'git config core.untrackedCache true',
      );
}

/** Directories below `root`, skipping every `.git` (the daemon never watches inside one). */
export function countDirectories(root: string): number {
  let count = 1;
  const stack = [root];
  for (let dir = stack.pop(); dir !== undefined; dir = stack.pop()) {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      continue; // unreadable or gone: the daemon cannot watch it either
    }
    for (const e of entries) {
      if (!e.isDirectory() || e.name === '.git') continue;
      count++;
      stack.push(path.join(dir, e.name));
    }
  }
  return count;
}

function readLimit(name: string): number | null {
  try {
    return Number.parseInt(fs.readFileSync(`/proc/sys/fs/inotify/${name}`, 'utf8'), 10);
  } catch {
    return null;
  }
}

/** One watch per directory, one instance per daemon; both limits are per user. */
export function checkInotify(dirs: number | null, daemons: number): Check {
  const name = 'inotify limits';
  const watches = readLimit('max_user_watches');
  const instances = readLimit('max_user_instances');
  if (watches === null || instances === null) {
    return check(name, 'ok', 'no /proc/sys/fs/inotify here: not Linux, so no inotify limits');
  }
  const limits = `max_user_watches=${watches}, max_user_instances=${instances}`;
  const what = dirs === null ? limits : `${dirs} directories to watch; ${limits}`;
  const raise = (key: string, want: number) =>
    `sudo sysctl fs.inotify.${key}=${want} (and put it in /etc/sysctl.d/ to keep it)`;
  if (dirs !== null && dirs >= watches) {
    return check(name, 'fail', `${what}: not enough watches`, raise('max_user_watches', 4 * dirs));
  }
  if (dirs !== null && dirs * 2 > watches) {
    return check(
      name,
      'warn',
      `${what}: little room left for your other worktrees and editors`,
      raise('max_user_watches', 4 * dirs),
    );
  }
  if (instances < daemons + 8) {
    return check(
      name,
      'warn',
      `${what}: few instances for ${daemons} daemons`,
      raise('max_user_instances', 512),
    );
  }
  return check(name, 'ok', what);
}

export async function checkFilesystem(repo: RepoInfo, allowRemote: boolean): Promise<Check> {
  const name = 'filesystem';
  const fsInfo = await filesystemOf(repo.worktree);
  if (!fsInfo.remote) return check(name, 'ok', `${fsInfo.name}, local`);
  if (allowRemote) {
    return check(
      name,
      'warn',
      `${fsInfo.name} is a network filesystem: changes made on other machines go unseen`,
      null,
    );
  }
  return check(
    name,
    'fail',
    `${fsInfo.name} is a network filesystem: the daemon refuses to watch it`,
    'work in a local clone, or set fsmonitor.allowRemote=true and accept missed changes',
  );
}

/** Runs, answers its status, and answers a real query (a cookie round trip) incrementally. */
export async function checkDaemon(repo: RepoInfo): Promise<Check> {
  const name = 'daemon';
  const probe = await probeDaemon(repo);
  if (probe.state === 'mute') {
    return check(
      name,
      'fail',
      `${describeMute(probe.peer)} listens on '${socketOf(repo)}' but did not answer within ${ANSWER_WITHIN_MS} ms (stopped or hung)`,
      "run 'git fsmond stop' (it verifies the pid, then signals it), then 'git fsmond start'",
    );
  }
  const blocker = startBlocker(repo);
  if (probe.state === 'none') {
    const refusal = lastRefusal(repo);
    if (refusal) {
      // Until a start succeeds, the shims answer `/` at once: every git command rescans.
      return check(
        name,
        'fail',
        `not running: its last start was refused: ${refusal}`,
        "fix that, then run 'git fsmond start'",
      );
    }
    if (blocker) {
      return check(name, 'fail', `not running, and cannot start: ${blocker.reason}`, blocker.fix);
    }
    return check(
      name,
      'warn',
      'not running (git starts it with its next command)',
      "run 'git fsmond start' to start it now",
    );
  }
  const s = probe.status;
  if (s.blockedReason) {
    // Every query gets `/` at once meanwhile; the daemon retries by itself.
    return check(
      name,
      'fail',
      `pid ${s.pid} cannot watch every directory, so every git command rescans: ${s.blockedReason}`,
      'raise the limit it names (sysctl); the daemon retries by itself',
    );
  }
  if (!s.watching) {
    return check(
      name,
      'warn',
      `pid ${s.pid} is still registering watches (${s.watchedDirectories} directories so far)`,
      "wait, then run 'git fsmond status'",
    );
  }
  const answer = await request(repo, String(s.token)).catch((err: Error) => err);
  if (answer instanceof Error)
    return check(
      name,
      'fail',
      `pid ${s.pid} does not answer queries: ${answer.message}`,
      "run 'git fsmond stop' and 'git fsmond start'",
    );
  const trivial = answer.subarray(answer.indexOf(0) + 1).toString('latin1') === '/\0';
  if (trivial) {
    if (blocker?.readOnly) {
      return check(
        name,
        'warn',
        `pid ${s.pid} answers only / (every git command rescans): ${blocker.reason}, where no cookie can be written`,
        blocker.fix,
      );
    }
    const after = await fetchStatus(repo);
    const why = String(after?.lastTrivialReason ?? 'unknown reason');
    return check(
      name,
      'warn',
      `pid ${s.pid} answered a fresh token with / (full rescan): ${why}`,
      "see 'git fsmond log'",
    );
  }
  if (s.unwatchableCount > 0) {
    const shown = s.unwatchable.slice(0, 3).map((d) => `'${d}'`);
    const more =
      s.unwatchableCount > shown.length ? ` and ${s.unwatchableCount - shown.length} more` : '';
    return check(
      name,
      'warn',
      `pid ${s.pid} answers, but cannot read ${s.unwatchableCount} ${s.unwatchableCount === 1 ? 'directory' : 'directories'} (${shown.join(', ')}${more}): git re-examines ${s.unwatchableCount === 1 ? 'it' : 'them'} on every command`,
      "make them readable to the daemon's user, or remove them",
    );
  }
  if (s.lastError)
    return check(
      name,
      'warn',
      `pid ${s.pid} answers; last error: ${s.lastError}`,
      "see 'git fsmond log'",
    );
  return check(name, 'ok', `pid ${s.pid} answers, watching ${s.watchedDirectories} directories`);
}
