#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS node
'use strict';
// fsmond-hook.cjs: the Node fallback of hooks/fsmond-hook.c, used when no C compiler was
// found. Same behaviour, same environment variables (see the header of fsmond-hook.c).
// CommonJS and dependency-free on purpose: node start-up is this shim's whole cost.
// The shebang drops NODE_EXTRA_CA_CERTS, which costs ~45 ms per node start.
// Differences from the C shim, forced by Node: the spawn lock is an abstract Unix socket
// named after the git dir's dev/inode (Node has no flock; the kernel releases it when the
// holder dies, like a flock), the start-status pipe is a socketpair (Node makes no pipes),
// and the token arrives decoded as UTF-8. The process never leaves the directory git started
// it in (paths are absolute; the long-path connect steps out and back synchronously), so its
// cwd is the worktree root when the daemon looks at it, as the daemon requires.

const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');

// The contract with the daemon (src/contract/): test/unit/contract-shims.test.ts checks it.
const SOCK_NAME = 'fsmonitor--daemon.ipc';
const STATE_DIR = 'fsmond';
const POINTER = 'fsmond/socket';
const REFUSED = 'fsmond/refused';
const LOG = 'fsmond/daemon.log';
const UNRESPONSIVE = 'fsmond/unresponsive';
const SMALL_REPO = 'fsmond/small-repo';
const REFUSED_FRESH_MS = 60_000;
const NEVER_VALID = 'builtin:fsmond-unavailable.';
const ANSWER_MS = 8000;
const SPAWN_WAIT_MS = 2000;
const FIRST_BYTE_MS = 900;
const MUTED_WAIT_MS = 20;
const TIMEOUT_ENV = 'GIT_FSMOND_HOOK_TIMEOUT_MS';
const LAUNCHER_ENV = 'GIT_FSMOND_LAUNCHER';
const START_FD_ENV = 'GIT_FSMOND_START_FD';
const START_OK = 'ok';
const DAEMON_NODE_OPTION = '--jitless';
const PKT_MAX = 65520;
const PKT_DATA_MAX = PKT_MAX - 4;
const DIED = 'the daemon exited before it listened; see git fsmond log';
const envTimeout = Number.parseInt(process.env[TIMEOUT_ENV] || '', 10);
const wait = (ms) => (envTimeout > 0 ? envTimeout : ms);
const TIMEOUT_MS = wait(ANSWER_MS);
const SPAWN_WAIT = wait(SPAWN_WAIT_MS);
const FIRST_BYTE = wait(FIRST_BYTE_MS);
const MUTED_WAIT = wait(MUTED_WAIT_MS);
const { O_WRONLY, O_APPEND, O_CREAT, O_TRUNC, O_NOFOLLOW, O_NONBLOCK } = fs.constants;

function sleepSync(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

// Writes the whole answer to stdout and exits 0; exits 1 if stdout fails, because a partial
// list would be wrong and a failed hook is not.
function emit(buf) {
  let off = 0;
  while (off < buf.length) {
    try {
      off += fs.writeSync(1, buf, off, buf.length - off);
    } catch (e) {
      if (e.code !== 'EAGAIN') process.exit(1);
      sleepSync(1);
    }
  }
  process.exit(0);
}

function fail() {
  const now = Math.floor(Date.now() / 1000);
  emit(Buffer.from(`${NEVER_VALID}${process.pid}.${now}:0\0/\0`, 'latin1'));
}

process.on('uncaughtException', fail);

function findGitdir(root) {
  const env = process.env.GIT_DIR;
  if (env) return path.resolve(root, env);
  const dotgit = path.join(root, '.git');
  const st = fs.statSync(dotgit);
  if (st.isDirectory()) return dotgit;
  const text = fs.readFileSync(dotgit, 'utf8');
  if (!text.startsWith('gitdir: ') || text.length < 9) throw new Error('bad .git file');
  return path.resolve(root, text.slice(8).replace(/[\r\n]+$/, ''));
}

// Node 20 truncates socket paths over 107 bytes (docs/linux-watching.md#t12): connect to a relative
// name from inside the socket's directory instead. net.connect calls connect(2) synchronously.
function connect(sockPath, cb) {
  let s;
  if (Buffer.byteLength(sockPath) > 107) {
    const cwd = process.cwd();
    process.chdir(path.dirname(sockPath));
    try {
      s = net.connect(`./${path.basename(sockPath)}`);
    } finally {
      process.chdir(cwd);
    }
  } else {
    s = net.connect(sockPath);
  }
  const onError = (e) => cb(e, null);
  s.once('error', onError);
  s.once('connect', () => {
    s.removeListener('error', onError);
    cb(null, s);
  });
}

// The socket `fsmond/socket` names (the daemon put it elsewhere: fsmonitor.socketDir), if it
// is a socket of ours; null otherwise.
function pointedSocket(gitdir) {
  try {
    const fd = fs.openSync(
      path.join(gitdir, POINTER),
      // Non-blocking: a FIFO there reads as nothing (EAGAIN) instead of stalling git.
      fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK,
    );
    let p;
    try {
      p = fs.readFileSync(fd, 'utf8').replace(/[\r\n]+$/, '');
    } finally {
      fs.closeSync(fd);
    }
    const st = fs.lstatSync(p);
    const mine = !process.geteuid || st.uid === process.geteuid();
    return path.isAbsolute(p) && st.isSocket() && mine ? p : null;
  } catch {
    return null;
  }
}

// Cold path: the default socket, else the one the pointer names.
function connectAny(gitdir, sockPath, cb) {
  connect(sockPath, (err, s) => {
    if (err?.code !== 'ENOENT') return cb(err, s);
    const other = pointedSocket(gitdir);
    if (other) connect(other, cb);
    else cb(err, null);
  });
}

// A daemon refused to start for a lasting reason a moment ago: starting another is futile.
function refusedFresh(gitdir) {
  try {
    const age = Date.now() - fs.statSync(path.join(gitdir, REFUSED)).mtimeMs;
    return age > -REFUSED_FRESH_MS && age < REFUSED_FRESH_MS;
  } catch {
    return false;
  }
}

// The spawn lock: listening on an abstract socket is exclusive and dies with its holder.
// cb(lock): the listening server (keep it referenced), true if abstract sockets are not
// supported (go on unlocked), or null if another shim holds the lock.
function tryLock(gitdir, cb) {
  const st = fs.statSync(gitdir);
  const srv = net.createServer();
  srv.once('error', (e) => cb(e.code === 'EADDRINUSE' ? null : true));
  srv.listen(`\0git-fsmond-spawn.${st.dev}.${st.ino}`, () => {
    srv.unref();
    cb(srv);
  });
}

// Starts `<launcher> daemon <root>` detached; returns the stream of its start status.
function spawnDaemon(root, gitdir) {
  const launcher = process.env[LAUNCHER_ENV] || path.join(__dirname, '..', 'bin', 'git-fsmond');
  fs.accessSync(launcher, fs.constants.X_OK);
  const env = Object.assign({}, process.env, { [START_FD_ENV]: '3' });
  delete env.NODE_EXTRA_CA_CERTS;
  // V8 without its JIT: ~1 MB less RSS for the daemon's life; the user's options kept.
  env.NODE_OPTIONS = env.NODE_OPTIONS
    ? `${env.NODE_OPTIONS} ${DAEMON_NODE_OPTION}`
    : DAEMON_NODE_OPTION;
  if (env.GIT_DIR) env.GIT_DIR = gitdir;
  const { spawn } = require('node:child_process');
  const log = openLog(gitdir);
  const child = spawn(launcher, ['daemon', root], {
    detached: true,
    stdio: ['ignore', log, log, 'pipe'],
    cwd: '/',
    env,
  });
  if (typeof log === 'number') fs.closeSync(log);
  child.once('error', fail);
  child.unref();
  return child.stdio[3];
}

// Calls onFailed(reason) when the started daemon refuses (its one line is not START_OK) or
// dies before it listens (EOF, no line).
function watchStart(status, onFailed) {
  let text = '';
  status.setEncoding('utf8');
  status.on('data', (d) => {
    text += d;
  });
  status.on('error', () => {});
  status.on('close', () => {
    if (text !== `${START_OK}\n`) onFailed(text.split('\n')[0] || DIED);
  });
}

// Opens `name` for writing (0600 if new), only inside a real `fsmond` directory of ours: a
// planted symlink must not choose where we write, and a FIFO must not make us wait
// (non-blocking: with no reader the open fails at once; anything but a regular file is
// refused). Throws otherwise.
function openState(gitdir, name, flags) {
  const st = fs.lstatSync(path.join(gitdir, STATE_DIR));
  if (!st.isDirectory() || st.uid !== process.geteuid()) throw new Error('not our fsmond');
  const fd = fs.openSync(
    path.join(gitdir, name),
    O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | flags,
    0o600,
  );
  if (!fs.fstatSync(fd).isFile()) {
    fs.closeSync(fd);
    throw new Error('not a regular file');
  }
  return fd;
}

function writeState(gitdir, name, flags, text) {
  try {
    const fd = openState(gitdir, name, flags);
    try {
      fs.writeSync(fd, text);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // best effort
  }
}

// The daemon's log, for its stdout and stderr: a daemon that dies before its logger starts
// (no node, a broken install) leaves its reason where `git fsmond log` looks.
function openLog(gitdir) {
  try {
    return openState(gitdir, LOG, O_APPEND);
  } catch {
    return 'ignore';
  }
}

// Before the cold path creates anything: the git dir and `fsmond` must be ours. Under sudo in
// someone else's repository that is not so, and a root-owned file there would lock its owner
// out; git itself is just as wary of repositories that are not the user's.
function mayStart(gitdir) {
  const me = process.geteuid();
  if (fs.statSync(gitdir).uid !== me) return false;
  const dir = path.join(gitdir, STATE_DIR);
  try {
    fs.mkdirSync(dir, 0o700);
  } catch (e) {
    if (e.code !== 'EEXIST') return false;
  }
  const st = fs.lstatSync(dir);
  return st.isDirectory() && st.uid === me;
}

// Nothing listens (ENOENT/ECONNREFUSED): the holder of the spawn lock checks once more and
// starts the daemon; everyone polls until the socket accepts, time runs out, or the daemon
// refuses. A full backlog (EAGAIN) is polled for only briefly when the daemon is muted.
function connectOrStart(root, gitdir, sockPath, muted, cb) {
  const t0 = Date.now();
  const end = t0 + SPAWN_WAIT;
  const busyEnd = muted ? t0 + MUTED_WAIT : end;
  let held = null; // the spawn lock, once we hold it
  let checked = false;
  let spawned = false;
  let tries = 0;
  let failedAt = 0; // tries when the started daemon refused or died: later tries decide
  let why = '';
  const retry = () => {
    if (Date.now() >= end) fail();
    setTimeout(attempt, 2);
  };
  const attempt = () => {
    const n = ++tries;
    connectAny(gitdir, sockPath, (err, s) => {
      if (!err) return cb(s);
      const code = err.code;
      if (code !== 'ENOENT' && code !== 'ECONNREFUSED' && code !== 'EAGAIN') fail();
      if (failedAt && n > failedAt && code !== 'EAGAIN') {
        writeState(gitdir, REFUSED, O_TRUNC, `${why}\n`); // tried once more: nothing listens
        fail();
      }
      if (code === 'EAGAIN' && Date.now() >= busyEnd) stalled(gitdir, muted);
      if (code !== 'EAGAIN' && refusedFresh(gitdir)) fail();
      if (code === 'EAGAIN' || spawned) return retry();
      if (held) {
        spawned = true;
        watchStart(spawnDaemon(root, gitdir), (reason) => {
          why = reason;
          failedAt = tries;
        });
        return attempt();
      }
      if (!checked && !mayStart(gitdir)) fail();
      checked = true;
      // Take the lock; holding it, try connecting once more before starting anything.
      tryLock(gitdir, (lock) => {
        held = lock;
        if (lock) attempt();
        else retry();
      });
    });
  };
  attempt();
}

// The daemon accepted but never answered, or never made room in its backlog: until it
// answers again, shims give up on it quickly.
function stalled(gitdir, muted) {
  if (!muted) writeState(gitdir, UNRESPONSIVE, 0, '');
  fail();
}

function encodeRequest(token) {
  const parts = [];
  for (let off = 0; off < token.length; off += PKT_DATA_MAX) {
    const chunk = token.subarray(off, off + PKT_DATA_MAX);
    parts.push(Buffer.from((chunk.length + 4).toString(16).padStart(4, '0'), 'latin1'), chunk);
  }
  parts.push(Buffer.from('0000', 'latin1'));
  return Buffer.concat(parts);
}

function query(sock, token, gitdir, muted) {
  const started = Date.now();
  let timer = setTimeout(() => stalled(gitdir, muted), muted ? MUTED_WAIT : FIRST_BYTE);
  let flowing = false;
  sock.on('error', fail);
  sock.on('end', fail); // EOF before the flush packet
  sock.write(encodeRequest(token));
  const payload = [];
  let pending = Buffer.alloc(0);
  sock.on('data', (data) => {
    if (!flowing) {
      flowing = true; // from here the whole-answer deadline bounds a trickle
      clearTimeout(timer);
      timer = setTimeout(fail, started + TIMEOUT_MS - Date.now());
    }
    pending = pending.length > 0 ? Buffer.concat([pending, data]) : data;
    while (pending.length >= 4) {
      const hex = pending.toString('latin1', 0, 4);
      if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail();
      const len = Number.parseInt(hex, 16);
      if (len === 0) {
        const answer = Buffer.concat(payload);
        if (answer.indexOf(0) > 0) emit(answer); // a NUL, and a non-empty token before it
        fail();
      }
      if (len <= 4 || len > PKT_MAX) fail(); // 0001-0004 (delim, end, empty) are errors
      if (pending.length < len) break;
      payload.push(pending.subarray(4, len));
      pending = pending.subarray(len);
    }
  });
}

// A small repository: the index has fewer entries than the limit a daemon left in SMALL_REPO,
// so git's own rescan is cheaper than asking (see small_repo in fsmond-hook.c).
function smallRepo(gitdir) {
  if (process.env.GIT_INDEX_FILE) return false;
  const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK } = fs.constants;
  // Non-blocking, and read without a position: a FIFO planted there reads as nothing.
  const head = (name, flags, len) => {
    let fd;
    try {
      fd = fs.openSync(path.join(gitdir, name), O_RDONLY | O_NONBLOCK | flags);
      const buf = Buffer.alloc(len);
      return buf.subarray(0, fs.readSync(fd, buf, 0, len, null));
    } catch {
      return Buffer.alloc(0);
    } finally {
      if (fd !== undefined) fs.closeSync(fd);
    }
  };
  const limit = Number.parseInt(head(SMALL_REPO, O_NOFOLLOW, 23).toString('latin1'), 10);
  if (!(limit > 0)) return false;
  const h = head('index', 0, 12);
  return h.length === 12 && h.toString('latin1', 0, 4) === 'DIRC' && h.readUInt32BE(8) < limit;
}

function main() {
  if (process.argv[2] !== '2') emit(Buffer.from('/', 'latin1'));
  const token = Buffer.from(process.argv[3] || '', 'utf8');
  const root = process.cwd();
  const gitdir = findGitdir(root);
  if (smallRepo(gitdir)) fail();
  const sockPath = path.join(gitdir, SOCK_NAME);
  const muted = fs.lstatSync(path.join(gitdir, UNRESPONSIVE), { throwIfNoEntry: false }) != null;
  const ask = (s) => query(s, token, gitdir, muted);
  connect(sockPath, (err, s) => {
    if (!err) return ask(s);
    if (err.code !== 'ENOENT' && err.code !== 'ECONNREFUSED' && err.code !== 'EAGAIN') fail();
    connectOrStart(root, gitdir, sockPath, muted, ask);
  });
}

try {
  main();
} catch {
  fail();
}
