/**
 * Differential check in the spirit of the fuzzer that found bugs A and B (docs/protocol.md): random
 * bursts of directory renames, moves in and out, deletions and file edits with no sync in
 * between, then two questions answered against the real filesystem:
 *   1. is every path that changed reported (a vanished path may be covered by an ancestor)?
 *   2. is every directory watched under its current name (a probe file in each is seen)?
 */
import assert from 'node:assert/strict';
import {
  appendFileSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { test } from 'node:test';
import { bstr, plant, rng } from '../helpers/watch-fs.js';
import { closeAfterEachTest, Harness, makeWorktree } from '../helpers/watch-harness.js';

const track = closeAfterEachTest();

interface Entry {
  dir: boolean;
  sig: string;
}

/** Every path below `top` (byte strings), skipping .git, with a change signature for files. */
function snapshot(top: string): Map<string, Entry> {
  const out = new Map<string, Entry>();
  const walk = (abs: Buffer, rel: string) => {
    for (const e of readdirSync(abs, { withFileTypes: true, encoding: 'buffer' })) {
      const name = e.name.toString('latin1');
      if (name === '.git') continue;
      const r = rel ? `${rel}/${name}` : name;
      const a = Buffer.concat([abs, Buffer.from('/'), e.name]);
      const st = lstatSync(a, { bigint: true });
      const dir = st.isDirectory();
      out.set(r, {
        dir,
        sig: dir ? `d${st.ino}` : `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`,
      });
      if (dir) walk(a, r);
    }
  };
  walk(Buffer.from(top, 'latin1'), '');
  return out;
}

function covered(reported: Set<string>, p: string): boolean {
  for (let q = p; ; ) {
    if (reported.has(q)) return true;
    const i = q.lastIndexOf('/');
    if (i < 0) return false;
    q = q.slice(0, i);
  }
}

// WATCH_FUZZ_SEEDS=200 runs more seeds (a longer soak, not part of the normal suite).
const seeds = Number(process.env.WATCH_FUZZ_SEEDS ?? 3);
const rounds = Number(process.env.WATCH_FUZZ_ROUNDS ?? 25);

for (let seed = 1; seed <= seeds; seed++) {
  test(`random directory churn, seed ${seed}: every change reported, every dir watched`, async () => {
    const rand = rng(seed);
    const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const wt = makeWorktree();
    plant(wt.root, ['a/b/c/f1', 'a/b/f2', 'd/e/f3', 'g/f4', 'top']);
    const h = track(new Harness(wt, { backend: 'inotify', detachHoldMs: 5 }));
    await h.start();
    const root = wt.root;
    const outside = wt.outside;
    const abs = (rel: string) => Buffer.from(rel ? `${root}/${rel}` : root, 'latin1');
    const outAbs = (name: string) => Buffer.from(`${outside}/${name}`, 'latin1');
    let n = 0;
    // Some names are not valid UTF-8.
    const odd = () => (rand() < 0.15 ? bstr([0x6e, 0xff, 0x30 + (n % 10), 0x5f]) : '');
    const fresh = () => `${odd()}n${n++}`;
    let parked: string[] = [];

    for (let round = 0; round < rounds; round++) {
      const before = snapshot(root);
      for (let k = 0; k < 8; k++) {
        // Sometimes let the watcher read mid-burst, so scans race with later operations.
        if (rand() < 0.3) await new Promise((r) => setTimeout(r, rand() < 0.5 ? 0 : 2));
        const snap = snapshot(root);
        const dirs = ['', ...[...snap].filter(([, e]) => e.dir).map(([p]) => p)];
        const files = [...snap].filter(([, e]) => !e.dir).map(([p]) => p);
        const sub = dirs.filter((d) => d !== '');
        const join = (d: string, name: string) => (d ? `${d}/${name}` : name);
        const op = Math.floor(rand() * 9);
        if (op === 0) {
          mkdirSync(abs(join(join(pick(dirs), fresh()), fresh())), { recursive: true });
        } else if (op === 1 || op === 2) {
          writeFileSync(abs(join(pick(dirs), fresh())), 'f');
        } else if (op === 3 && files.length > 0) {
          appendFileSync(abs(pick(files)), '+');
        } else if (op === 4 && sub.length > 0) {
          // Rename a directory somewhere else in the tree (never into itself).
          const src = pick(sub);
          const dests = dirs.filter((d) => d !== src && !d.startsWith(`${src}/`));
          renameSync(abs(src), abs(join(pick(dests), fresh())));
        } else if (op === 5 && sub.length > 0) {
          const name = fresh();
          renameSync(abs(pick(sub)), outAbs(name));
          parked.push(name);
        } else if (op === 6) {
          // Move in: a previously moved-out tree (same inodes) or a fresh one.
          const name = parked.length > 0 && rand() < 0.6 ? parked.shift()! : fresh();
          if (!parked.includes(name)) {
            mkdirSync(outAbs(`${name}/x/y`), { recursive: true });
            writeFileSync(outAbs(`${name}/x/y/z`), 'z');
          }
          renameSync(outAbs(name), abs(join(pick(dirs), fresh())));
          parked = parked.filter((p) => p !== name);
        } else if (op === 7 && sub.length > 0) {
          rmSync(abs(pick(sub)), { recursive: true });
        } else if (op === 8 && files.length > 0) {
          renameSync(abs(pick(files)), abs(join(pick(dirs), fresh())));
        }
      }
      const reported = new Set(await h.sync());
      const afterSnap = snapshot(root);
      for (const [p, e] of afterSnap) {
        const old = before.get(p);
        const changed = !old || old.dir !== e.dir || (!e.dir && old.sig !== e.sig);
        assert.ok(!changed || reported.has(p), `round ${round}: changed path not reported: ${p}`);
      }
      for (const p of before.keys()) {
        if (!afterSnap.has(p)) {
          assert.ok(covered(reported, p), `round ${round}: vanished path not covered: ${p}`);
        }
      }
      // Every directory must be watched under its current name.
      const probes: string[] = [];
      for (const [p, e] of afterSnap) {
        if (!e.dir) continue;
        const probe = `${p}/probe-${round}`;
        writeFileSync(abs(probe), 'p');
        probes.push(probe);
      }
      writeFileSync(abs(`probe-${round}`), 'p');
      probes.push(`probe-${round}`);
      assert.deepEqual(await h.sync(), [...probes].sort(), `round ${round}: probes`);
      assert.equal(h.watcher.stats().rescans, 0);
    }
    assert.deepEqual(h.c.violations, []);
  });
}
