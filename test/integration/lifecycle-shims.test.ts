/**
 * The shims' cold path (both shims): a fresh `<gitdir>/fsmond/refused` means "answer / now,
 * start nothing"; a daemon that refuses while a shim waits for it ends the wait; a socket the
 * daemon had to put elsewhere is found through `<gitdir>/fsmond/socket`, but only if it is a
 * socket of ours. The shim's hang guard (30 s) is far above its start budget (60 s here is
 * never reached): a shim that waited its whole budget would be reported as hung.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  makeLayoutRepo,
  pkt,
  type Repo,
  runShim,
  type ShimResult,
  shimEnv,
  shims,
  UNAVAILABLE,
  writeScript,
} from '../helpers/hook-harness.js';
import { scratchDir } from '../helpers/scratch.js';

const T = { timeout: 60_000 };
/** A launcher body that refuses as the real daemon does: it writes the file and exits. */
const REFUSE = `mkdir -p "$2/.git/fsmond" && echo 'refused (test)' > "$2/.git/fsmond/refused"`;

function assertUnavailable(r: ShimResult): void {
  assert.equal(r.signal, null, 'shim killed by the hang guard: it waited instead of giving up');
  assert.equal(r.status, 0);
  assert.equal(r.stderr, '');
  assert.match(r.text, UNAVAILABLE);
}

/** A pkt-line server answering every request with `builtin:reloc:7\0<paths>`. */
async function relocatedServer(sock: string, paths: string): Promise<net.Server> {
  const server = net.createServer((c) => {
    c.on('error', () => {});
    let got = '';
    c.on('data', (d) => {
      got += d.toString('latin1');
      if (!got.endsWith('0000')) return;
      c.end(Buffer.concat([pkt('builtin:reloc:7\0'), pkt(paths), Buffer.from('0000')]));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    const dir = path.dirname(sock);
    if (Buffer.byteLength(sock) <= 107) server.listen(sock, () => resolve());
    else {
      const cwd = process.cwd();
      process.chdir(dir);
      try {
        server.listen(`./${path.basename(sock)}`, () => resolve());
      } finally {
        process.chdir(cwd);
      }
    }
  });
  return server;
}

for (const shim of shims()) {
  describe(`shim ${shim.name}: refusals and relocated sockets`, { skip: shim.skip }, () => {
    let base = '';
    let n = 0;
    const servers: net.Server[] = [];
    before(() => {
      base = scratchDir(`fsmond-lc-shim-${shim.name}-`);
    });
    after(() => {
      for (const s of servers) s.close();
    });

    /** A repo and a launcher that records each start, then does `body`. */
    function setup(body: string) {
      const dir = path.join(base, `t${n++}`);
      fs.mkdirSync(dir);
      const repo = makeLayoutRepo(dir);
      const count = path.join(dir, 'starts');
      const launcher = writeScript(dir, 'launcher', `echo start >> '${count}'\n${body}`);
      const env = shimEnv(repo, {
        GIT_FSMOND_LAUNCHER: launcher,
        GIT_FSMOND_HOOK_TIMEOUT_MS: '60000',
      });
      const starts = () => (fs.existsSync(count) ? fs.readFileSync(count, 'utf8').length / 6 : 0);
      const run = () => runShim(shim, ['2', 'tok'], { cwd: repo.root, env, hangMs: 30_000 });
      return { dir, repo, starts, run };
    }

    const refusedFile = (repo: Repo) => path.join(repo.gitdir, 'fsmond', 'refused');

    it('a fresh refusal: answers / and starts nothing', T, async () => {
      const { repo, starts, run } = setup('exit 0');
      fs.mkdirSync(path.join(repo.gitdir, 'fsmond'), { mode: 0o700 });
      fs.writeFileSync(refusedFile(repo), 'remote repository (test)\n');
      assertUnavailable(await run());
      assertUnavailable(await run());
      assert.equal(starts(), 0);
    });

    it('a daemon that refuses while the shim waits ends the wait', T, async () => {
      const { repo, starts, run } = setup(REFUSE);
      assertUnavailable(await run());
      assert.equal(starts(), 1);
      assertUnavailable(await run());
      assert.equal(starts(), 1, 'no second start while the refusal is fresh');
      // An old refusal is retried once (the reason may be gone).
      const old = new Date(Date.now() - 120_000);
      fs.utimesSync(refusedFile(repo), old, old);
      assertUnavailable(await run());
      assert.equal(starts(), 2);
    });

    for (const long of [false, true]) {
      it(
        `a relocated socket${long ? ' over 107 bytes' : ''} is found through the pointer`,
        T,
        async () => {
          const { dir, repo, starts, run } = setup('exit 0');
          const sockDir = long ? path.join(dir, 'x'.repeat(60), 'y'.repeat(60)) : dir;
          fs.mkdirSync(sockDir, { recursive: true });
          const sock = path.join(sockDir, '.git-fsmonitor-test');
          servers.push(await relocatedServer(sock, 'moved\0'));
          fs.mkdirSync(path.join(repo.gitdir, 'fsmond'), { mode: 0o700 });
          fs.writeFileSync(path.join(repo.gitdir, 'fsmond', 'socket'), `${sock}\n`);
          const r = await run();
          assert.equal(r.status, 0);
          assert.equal(r.text, 'builtin:reloc:7\0moved\0');
          assert.equal(starts(), 0);
        },
      );
    }

    it(
      'a pointer to a socket of another user, or a symlinked pointer, is ignored',
      T,
      async (t) => {
        const { dir, repo, starts, run } = setup(REFUSE);
        const sock = path.join(dir, 'foreign.sock');
        servers.push(await relocatedServer(sock, 'foreign\0'));
        fs.mkdirSync(path.join(repo.gitdir, 'fsmond'), { mode: 0o700 });
        const pointer = path.join(repo.gitdir, 'fsmond', 'socket');
        const elsewhere = path.join(dir, 'pointer-target');
        fs.writeFileSync(elsewhere, `${sock}\n`);
        fs.symlinkSync(elsewhere, pointer);
        assertUnavailable(await run());
        assert.equal(starts(), 1, 'a symlinked pointer is not followed: the daemon is started');
        if (process.getuid?.() !== 0) {
          t.diagnostic('not root: cannot give the socket to another user; that half is skipped');
          return;
        }
        fs.rmSync(pointer);
        fs.rmSync(refusedFile(repo));
        fs.writeFileSync(pointer, `${sock}\n`);
        fs.lchownSync(sock, 65534, 65534);
        assertUnavailable(await run());
        assert.equal(starts(), 2, "another user's socket is not trusted: the daemon is started");
      },
    );

    // Nothing opens the other end of these FIFOs: a shim that opened one blocking would hang.
    const fifos = [
      ['socket', 'a FIFO for a pointer reads as no pointer', 'no pointer: the daemon is started'],
      [
        'daemon.log',
        'a FIFO for the daemon log is not written: the start goes on',
        'the daemon was started, its output to /dev/null',
      ],
    ] as const;
    for (const [name, title, started] of fifos) {
      it(`${title}: no wait`, T, async () => {
        const { repo, starts, run } = setup(REFUSE);
        fs.mkdirSync(path.join(repo.gitdir, 'fsmond'), { mode: 0o700 });
        execFileSync('mkfifo', [path.join(repo.gitdir, 'fsmond', name)]);
        assertUnavailable(await run());
        assert.equal(starts(), 1, started);
      });
    }
  });
}
