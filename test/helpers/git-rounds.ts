/**
 * git commands while git-fsmond is upgraded or removed under them: each round changes a file,
 * runs `git status` through the monitor and checks it against the oracle, and that git printed
 * nothing on stderr (a shim git cannot run prints `fatal: cannot run ...` there).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { gitGuarded } from './lifecycle-util.js';

const STATUS = ['status', '--porcelain=v1', '-uall'];

export class GitRounds {
  rounds = 0;

  constructor(
    private readonly wt: string,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  async round(): Promise<void> {
    this.rounds++;
    fs.writeFileSync(path.join(this.wt, `f${this.rounds % 7}.txt`), `${this.rounds}\n`);
    const got = await gitGuarded(this.wt, STATUS, { env: this.env, timeoutMs: 20_000 });
    const oracle = await gitGuarded(
      this.wt,
      ['--no-optional-locks', '-c', 'core.fsmonitor=false', ...STATUS],
      { env: this.env },
    );
    assert.equal(got.hung, false, `round ${this.rounds}: git hung`);
    assert.equal(got.stderr, '', `round ${this.rounds}: git printed on stderr`);
    assert.equal(got.status, 0);
    assert.equal(got.stdout, oracle.stdout, `round ${this.rounds}: not the oracle's answer`);
  }

  /** Rounds until `done()` holds, failing after `ms`. */
  async until(what: string, done: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
    const t0 = Date.now();
    while (!(await done())) {
      assert.ok(Date.now() - t0 < ms, `still not ${what} after ${ms} ms`);
      await this.round();
    }
  }
}
