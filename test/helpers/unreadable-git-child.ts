/**
 * Run by unreadable-git.test as an unprivileged uid (root bypasses permission checks): a real
 * daemon through the shim on a worktree with directories nobody may list. Every round changes
 * something, then compares `git status` through the monitor with the oracle, and notes whether
 * the daemon's answer was incremental.
 *
 * Prints one JSON line: {rounds, ...} or {skip: reason}.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as git from './git.js';

interface Round {
  name: string;
  same: boolean;
  incremental: boolean;
  asked: boolean;
  monitor?: string;
  oracle?: string;
}

const FILES: Record<string, string> = {
  '.gitignore': 'ignored/\n',
  'ok/a': 'a\n',
  'src/deep/b': 'b\n',
  'xonly/t1': '1\n',
  'xonly/t2': '2\n',
  'xonly/sub/t3': '3\n',
};

async function main(): Promise<void> {
  if (process.argv[2] !== '--unprivileged' || process.getuid?.() === 0) {
    console.log(JSON.stringify({ skip: 'must run as a uid that permission checks apply to' }));
    return;
  }
  const wt = git.makeRepo({ files: FILES, untrackedCache: true });
  const p = (rel: string) => path.join(wt, rel);
  const locked = ['locked', 'ignored', 'fresh'];
  fs.mkdirSync(p('locked'));
  fs.writeFileSync(p('locked/untracked'), 'u\n');
  fs.mkdirSync(p('ignored'));
  fs.writeFileSync(p('ignored/junk'), 'j\n');
  fs.chmodSync(p('locked'), 0o000);
  fs.chmodSync(p('ignored'), 0o000);
  fs.chmodSync(p('xonly'), 0o111);
  try {
    await git.startRealDaemon(wt);
    git.statusWithMonitor(wt); // the first answer is `/`: git has no token yet
    const rounds: Round[] = [];
    const round = async (name: string, act: () => void) => {
      const before = (await git.daemonStatus(wt))!;
      act();
      const monitor = git.statusWithMonitor(wt);
      const oracle = git.statusOracle(wt);
      const after = (await git.daemonStatus(wt))!;
      const r: Round = {
        name,
        same: monitor === oracle,
        incremental: after.trivialAnswers === before.trivialAnswers,
        asked: after.answers > before.answers,
      };
      if (!r.same) Object.assign(r, { monitor, oracle });
      rounds.push(r);
    };
    const write = (rel: string, data: string) => () => fs.writeFileSync(p(rel), data);
    await round('nothing', () => {});
    await round('edit elsewhere', write('ok/a', 'a2\n'));
    // By name through x alone: no event can tell us, only reporting xonly does.
    await round('modify tracked in 0111', write('xonly/t1', 'changed\n'));
    await round('modify it back', write('xonly/t1', '1\n'));
    await round('modify deeper in 0111', write('xonly/sub/t3', 'changed\n'));
    await round('modify again, same size', write('xonly/t1', '9\n'));
    // Deleting and re-creating by name needs write permission too: still unreadable.
    await round('chmod 0311', () => fs.chmodSync(p('xonly'), 0o311));
    await round('delete tracked in 0311', () => fs.unlinkSync(p('xonly/t2')));
    await round('nothing after delete', () => {});
    await round('re-create it', write('xonly/t2', '2\n'));
    await round('untracked by name in 0311', write('xonly/new', 'n\n'));
    await round('chmod 0111', () => fs.chmodSync(p('xonly'), 0o111));
    await round('modify after chmod', write('xonly/t2', 'two\n'));
    await round('edit in src', write('src/deep/b', 'b2\n'));
    await round('unlock the locked one', () => fs.chmodSync(p('locked'), 0o755));
    await round('edit in it', write('locked/untracked', 'u2\n'));
    await round('lock it again', () => fs.chmodSync(p('locked'), 0o000));
    await round('unlock the ignored one', () => fs.chmodSync(p('ignored'), 0o755));
    await round('lock it again too', () => fs.chmodSync(p('ignored'), 0o000));
    await round('mkdir -m 000', () => fs.mkdirSync(p('fresh'), { mode: 0o000 }));
    await round('make 0111 readable', () => fs.chmodSync(p('xonly'), 0o755));
    await round('delete in it', () => fs.unlinkSync(p('xonly/t1')));
    const st = (await git.daemonStatus(wt))!;
    const doctor = spawnSync(git.LAUNCHER, ['doctor', '--json'], {
      cwd: wt,
      env: git.GIT_ENV,
      encoding: 'utf8',
    });
    const checks = JSON.parse(doctor.stdout).checks as Array<{ check: string; message: string }>;
    await git.stopDaemon(wt);
    console.log(
      JSON.stringify({
        rounds,
        unwatchable: st.unwatchableCount,
        sample: st.unwatchable,
        rescans: st.rescans,
        doctorDaemon: checks.find((c) => c.check === 'daemon')?.message,
      }),
    );
  } finally {
    for (const d of [...locked, 'xonly']) {
      try {
        fs.chmodSync(p(d), 0o755);
      } catch {
        // not there
      }
    }
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.log(JSON.stringify({ error: String((err as Error)?.stack ?? err) }));
    process.exit(1);
  },
);
