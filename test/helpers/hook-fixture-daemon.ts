/**
 * A stand-in for the daemon, for the hook shim tests and bench/hook: a pkt-line server on
 * `<gitdir>/fsmonitor--daemon.ipc`, started like the real one as `<launcher> daemon <worktree>`
 * (a wrapper script made by `writeLauncher` in hook-harness.ts runs
 * `node dist/test/helpers/hook-fixture-daemon.js daemon <worktree>`).
 *
 * Behaviour comes from the JSON file named by $HOOK_FIXTURE_CONFIG (type FixtureConfig),
 * read again for every request so a test can change it while the stand-in runs.
 * - On start it appends a `start` event to `startLog`; if the socket is live it appends
 *   `refused` and exits 1; otherwise it listens (after `startDelayMs`) and appends `listening`.
 * - Each request is appended to `requestLog` (payload, packet sizes, and the client's cwd
 *   when the request was complete).
 * - `quit` → `0000`, unlink the socket, exit. SIGTERM → unlink, exit. Idle for `idleExitMs`
 *   (default 120 s) → exit, so a failed test leaves nothing behind for long.
 * - Other requests: by `mode`. `ok` (default): `builtin:fix.<pid>:<n>\0` in its own packet,
 *   then `/\0` if `trivial`, else each of `paths` + NUL, cut into packets of `chunk` bytes.
 *   `raw`: the bytes of `rawBase64`, then close. `close-mid`: the header packet and half of a
 *   packet, then close. `silent`: never answer. `delayMs` holds every answer back that long,
 *   `packetDelayMs` spaces its packets (a trickle); `backlog` is the listen backlog.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { peerCredentials } from '../../src/ipc/peer.js';

export interface FixtureConfig {
  mode?: 'ok' | 'raw' | 'close-mid' | 'silent';
  paths?: string[];
  trivial?: boolean;
  chunk?: number;
  rawBase64?: string;
  delayMs?: number;
  packetDelayMs?: number;
  backlog?: number;
  startDelayMs?: number;
  idleExitMs?: number;
  startLog?: string;
  requestLog?: string;
}

/** One line of `startLog`. */
export interface FixtureStartEvent {
  event: 'start' | 'refused' | 'listening';
  pid: number;
  uid: number;
  argv: string[];
  cwd: string;
  gitDirEnv: string | null;
  hasExtraCaCerts: boolean;
  stdio: string[];
  /** The start-status pipe a shim handed over: the fd named in the environment, and what it is. */
  startFd: { env: string | null; target: string };
}

/** One line of `requestLog`. */
export interface FixtureRequest {
  pid: number;
  /** Payload bytes as latin1. */
  payload: string;
  /** Payload size of each data packet. */
  packets: number[];
  /** The client's working directory once its request was complete (null: unknown). */
  cwd: string | null;
}

const SOCK_NAME = 'fsmonitor--daemon.ipc';

function readConfig(): FixtureConfig {
  const file = process.env.HOOK_FIXTURE_CONFIG;
  if (!file) return {};
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as FixtureConfig;
  } catch {
    return {};
  }
}

function appendLine(file: string | undefined, value: unknown): void {
  if (file) fs.appendFileSync(file, `${JSON.stringify(value)}\n`);
}

function findGitdir(worktree: string): string {
  if (process.env.GIT_DIR) return path.resolve(worktree, process.env.GIT_DIR);
  const dotgit = path.join(worktree, '.git');
  if (fs.statSync(dotgit).isDirectory()) return dotgit;
  const text = fs.readFileSync(dotgit, 'utf8');
  if (!text.startsWith('gitdir: ')) throw new Error(`bad .git file in ${worktree}`);
  return path.resolve(worktree, text.slice(8).replace(/[\r\n]+$/, ''));
}

function pkt(data: Buffer): Buffer {
  return Buffer.concat([Buffer.from((data.length + 4).toString(16).padStart(4, '0')), data]);
}

function packets(data: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let off = 0; off < data.length; off += size) out.push(pkt(data.subarray(off, off + size)));
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Where the client process is right now, by the pid the kernel recorded at connect(). */
function cwdOf(sock: net.Socket): string | null {
  const pid = peerCredentials(sock)?.pid;
  try {
    return pid ? fs.readlinkSync(`/proc/${pid}/cwd`) : null;
  } catch {
    return null;
  }
}

function startEvent(event: FixtureStartEvent['event']): FixtureStartEvent {
  const target = (fd: number) => {
    try {
      return fs.readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      return 'closed';
    }
  };
  const stdio = [0, 1, 2].map(target);
  const startFd = process.env.GIT_FSMOND_START_FD ?? null;
  return {
    event,
    pid: process.pid,
    uid: process.getuid?.() ?? -1,
    argv: process.argv.slice(2),
    cwd: process.cwd(),
    gitDirEnv: process.env.GIT_DIR ?? null,
    hasExtraCaCerts: process.env.NODE_EXTRA_CA_CERTS !== undefined,
    stdio,
    startFd: { env: startFd, target: startFd ? target(Number(startFd)) : 'none' },
  };
}

async function main(): Promise<void> {
  const [cmd, worktree] = process.argv.slice(2);
  if (cmd !== 'daemon' || !worktree) process.exit(2);
  const first = readConfig();
  const startEv = startEvent('start'); // before the chdir: records the cwd we were given
  appendLine(first.startLog, startEv);
  const gitdir = findGitdir(worktree);
  const sockPath = path.join(gitdir, SOCK_NAME);
  // Stay in the git dir for good and use the short relative name: Node truncates socket
  // paths over 107 bytes (docs/linux-watching.md, trap T12).
  process.chdir(gitdir);

  const live = await new Promise<boolean>((resolve) => {
    const s = net.connect(SOCK_NAME);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
  if (live) {
    appendLine(first.startLog, { ...startEv, event: 'refused' });
    process.exit(1);
  }
  if (first.startDelayMs) await new Promise((r) => setTimeout(r, first.startDelayMs));

  let served = 0;
  let idle: NodeJS.Timeout | undefined;
  const bye = (code: number): never => {
    try {
      if (fs.statSync(sockPath).isSocket()) fs.unlinkSync(sockPath);
    } catch {
      // already gone
    }
    process.exit(code);
  };
  const touch = () => {
    if (idle) clearTimeout(idle);
    idle = setTimeout(() => bye(0), first.idleExitMs ?? 120_000);
  };
  process.on('SIGTERM', () => bye(0));

  const server = net.createServer((sock) => {
    touch();
    sock.on('error', () => {}); // a vanishing client must not crash us (docs/linux-watching.md#t13)
    let pending = Buffer.alloc(0);
    const payload: Buffer[] = [];
    const sizes: number[] = [];
    sock.on('data', (data) => {
      pending = Buffer.concat([pending, data]);
      while (pending.length >= 4) {
        const len = Number.parseInt(pending.toString('latin1', 0, 4), 16);
        if (len === 0) {
          pending = Buffer.alloc(0);
          sock.removeAllListeners('data');
          void answer(sock, Buffer.concat(payload), sizes, cwdOf(sock));
          return;
        }
        if (!(len > 4) || pending.length < len) return;
        payload.push(pending.subarray(4, len));
        sizes.push(len - 4);
        pending = pending.subarray(len);
      }
    });
  });

  const answer = async (sock: net.Socket, request: Buffer, sizes: number[], cwd: string | null) => {
    const cfg = readConfig();
    appendLine(cfg.requestLog, {
      pid: process.pid,
      payload: request.toString('latin1'),
      packets: sizes,
      cwd,
    } satisfies FixtureRequest);
    if (request.toString('latin1') === 'quit') {
      sock.end('0000', () => bye(0));
      server.close();
      return;
    }
    const mode = cfg.mode ?? 'ok';
    if (mode === 'silent') return;
    if (cfg.delayMs) await sleep(cfg.delayMs);
    if (mode === 'raw') {
      sock.end(Buffer.from(cfg.rawBase64 ?? '', 'base64'));
      return;
    }
    served++;
    const header = pkt(Buffer.from(`builtin:fix.${process.pid}:${served}\0`, 'latin1'));
    const body = cfg.trivial
      ? Buffer.from('/\0', 'latin1')
      : Buffer.from((cfg.paths ?? []).map((p) => `${p}\0`).join(''), 'latin1');
    if (mode === 'close-mid') {
      const half = pkt(body.length > 1 ? body : Buffer.from('a\0b\0'));
      sock.write(header);
      sock.write(half.subarray(0, Math.ceil(half.length / 2)), () => sock.destroy());
      return;
    }
    const chunk = Math.max(1, Math.min(cfg.chunk ?? 65516, 65516));
    const all = [header, ...packets(body, chunk), Buffer.from('0000')];
    if (!cfg.packetDelayMs) {
      sock.end(Buffer.concat(all));
      return;
    }
    for (const p of all) {
      if (sock.destroyed) return;
      sock.write(p);
      await sleep(cfg.packetDelayMs);
    }
    sock.end();
  };

  try {
    fs.unlinkSync(SOCK_NAME); // a stale socket (nothing answered above)
  } catch {
    // none
  }
  server.listen({ path: SOCK_NAME, backlog: first.backlog ?? 511 }, () => {
    appendLine(first.startLog, { ...startEv, event: 'listening' });
    touch();
  });
}

main().catch(() => process.exit(3));
