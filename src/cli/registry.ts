/**
 * The worktrees this user enabled, kept where Scalar keeps its `scalar.repo` list: a
 * multi-valued key in the global git config, so there is no config file of our own.
 */
import { GLOBAL_CWD, gitConfigAdd, gitConfigGetAll, gitConfigUnset } from './config.js';

export const WORKTREE_KEY = 'fsmond.worktree';

export function recordedWorktrees(): Promise<string[]> {
  return gitConfigGetAll(GLOBAL_CWD, '--global', WORKTREE_KEY).then((all) => [...new Set(all)]);
}

/** True when the worktree was not recorded yet. */
export async function recordWorktree(worktree: string): Promise<boolean> {
  if ((await recordedWorktrees()).includes(worktree)) return false;
  await gitConfigAdd(GLOBAL_CWD, '--global', WORKTREE_KEY, worktree);
  return true;
}

/** True when the worktree was recorded. */
export async function forgetWorktree(worktree: string): Promise<boolean> {
  if (!(await recordedWorktrees()).includes(worktree)) return false;
  await gitConfigUnset(GLOBAL_CWD, '--global', WORKTREE_KEY, worktree);
  return true;
}
