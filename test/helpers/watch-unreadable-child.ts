/**
 * Directories we may not read, run by watch-inotify-unreadable.test as an unprivileged uid
 * (root bypasses permission checks, so as root none of this can happen). Each step records
 * what the watcher reported and what it calls unwatchable; the parent asserts on that.
 *
 * Prints one JSON line: {steps, ...} or {skip: reason}.
 */
import {
  appendFileSync,
  chmodSync,
  mkdirSync,
  renameSync,
  rmdirSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { plant } from './watch-fs.js';
import { Harness, makeWorktree } from './watch-harness.js';

interface Step {
  paths: string[];
  unwatchable: string[];
}

async function main(): Promise<void> {
  if (process.argv[2] !== '--unprivileged' || process.getuid?.() === 0) {
    console.log(JSON.stringify({ skip: 'must run as a uid that permission checks apply to' }));
    return;
  }
  const wt = makeWorktree();
  try {
    plant(wt.root, [
      'ok/f',
      'locked/a',
      'locked/sub/b',
      'xonly/tracked',
      'noexec/child/c',
      'mover/x',
      'ok/inner/z',
      'deepx/b/f',
    ]);
    chmodSync(join(wt.root, 'ok/inner'), 0o000);
    chmodSync(join(wt.root, 'locked'), 0o000);
    chmodSync(join(wt.root, 'xonly'), 0o111);
    // Listable but not searchable: its child cannot be reached, so cannot be watched.
    chmodSync(join(wt.root, 'noexec'), 0o644);
    const h = new Harness(wt, { backend: 'inotify', retryDelayMs: 20, retryMaxDelayMs: 200 });
    await h.start();
    const steps: Record<string, Step> = {};
    const step = async (name: string, act: () => void) => {
      act();
      const paths = await h.sync();
      steps[name] = { paths, unwatchable: [...h.watcher.unwatchable()].sort() };
    };
    const atStart = {
      unwatchable: [...h.watcher.unwatchable()].sort(),
      stats: h.watcher.stats(),
    };
    await step('edit elsewhere', () => appendFileSync(h.p('ok/f'), '+'));
    // Allowed through x alone, and invisible to inotify: only reporting xonly covers it.
    await step('edit inside x-only', () => appendFileSync(h.p('xonly/tracked'), '+'));
    await step('chmod x-only again', () => chmodSync(h.p('xonly'), 0o311));
    await step('unlock', () => chmodSync(h.p('locked'), 0o755));
    await step('edit inside unlocked', () => writeFileSync(h.p('locked/sub/new'), 'n'));
    await step('search permission back', () => chmodSync(h.p('noexec'), 0o755));
    await step('edit below it', () => appendFileSync(h.p('noexec/child/c'), '+'));
    // Both before the watcher reads the event (same tick): deepx/b/new cannot be reached.
    await step('search permission gone above', () => {
      mkdirSync(h.p('deepx/b/new'));
      chmodSync(h.p('deepx'), 0o644);
    });
    await step('and back', () => chmodSync(h.p('deepx'), 0o755));
    await step('edit below that', () => writeFileSync(h.p('deepx/b/new/g'), 'g'));
    await step('mkdir -m 000', () => mkdirSync(h.p('fresh'), { mode: 0o000 }));
    // Into another directory it would need write permission on itself (for its `..`).
    await step('rename it', () => renameSync(h.p('fresh'), h.p('fresh2')));
    await step('rmdir it', () => rmdirSync(h.p('fresh2')));
    await step('rename a parent of one', () => renameSync(h.p('ok'), h.p('ok2')));
    await step('mkdir -m 000 below it', () => mkdirSync(h.p('ok2/gone'), { mode: 0o000 }));
    // Its removal is seen while ok2 is detached (out of the worktree, location unknown).
    await step('removed while its parent was away', () => {
      renameSync(h.p('ok2'), join(wt.outside, 'ok2'));
      rmdirSync(join(wt.outside, 'ok2/gone'));
      renameSync(join(wt.outside, 'ok2'), h.p('ok3'));
    });
    await step('lock a watched dir', () => chmodSync(h.p('mover'), 0o000));
    await step('move x-only out', () => renameSync(h.p('xonly'), join(wt.outside, 'xonly')));
    const stats = h.watcher.stats();
    await h.close();
    console.log(
      JSON.stringify({
        atStart,
        steps,
        stats,
        syncLost: h.c.syncLost,
        ready: h.c.ready,
        violations: h.c.violations,
      }),
    );
  } finally {
    const left = [
      'locked',
      'xonly',
      'noexec',
      'fresh',
      'fresh2',
      'ok/inner',
      'ok2/inner',
      'ok3/inner',
      'mover',
      'deepx',
    ];
    for (const d of [...left.map((d) => join(wt.root, d)), join(wt.outside, 'xonly')]) {
      try {
        chmodSync(d, 0o755);
      } catch {
        // not there (any more)
      }
    }
  }
}

main().catch((err) => {
  console.log(JSON.stringify({ error: String((err as Error)?.stack ?? err) }));
  process.exitCode = 1;
});
