/**
 * One describe block's scratch space for the hook tests (kept out of hook-harness.ts, which
 * bench/hook.ts imports outside the test runner): a temp dir made before the block's tests;
 * after them every stand-in started through its launchers is killed (the dir follows
 * scratch.ts's policy).
 */
import fs from 'node:fs';
import path from 'node:path';
import { after, before } from 'node:test';
import type { FixtureConfig } from './hook-fixture-daemon.js';
import {
  killDaemons,
  type Launcher,
  type Layout,
  makeLayoutRepo,
  type Repo,
  writeLauncher,
} from './hook-harness.js';
import { scratchDir } from './scratch.js';

export class HookScratch {
  private base = '';
  private n = 0;
  private readonly launchers: Launcher[] = [];

  constructor(prefix: string) {
    before(() => {
      this.base = scratchDir(`fsmond-${prefix}-`);
    });
    after(() => {
      for (const l of this.launchers) killDaemons(l);
    });
  }

  /** A fresh empty directory. */
  dir(): string {
    const dir = path.join(this.base, `t${this.n++}`);
    fs.mkdirSync(dir);
    return dir;
  }

  /** A fresh directory holding a repo and a launcher of the stand-in configured with `cfg`. */
  repoWithLauncher(
    cfg: FixtureConfig = {},
    repoOpts: { layout?: Layout; deep?: boolean } = {},
  ): { dir: string; repo: Repo; launcher: Launcher } {
    const dir = this.dir();
    const repo = makeLayoutRepo(dir, repoOpts);
    const launcher = writeLauncher(dir, cfg);
    this.launchers.push(launcher);
    return { dir, repo, launcher };
  }
}
