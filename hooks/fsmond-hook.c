/*
 * fsmond-hook: the git fsmonitor hook (protocol v2) of git-fsmond, in C.
 *
 * git runs `fsmond-hook <version> <token>` with cwd at the worktree root on every command
 * that loads the index. The shim relays the token as pkt-lines to the daemon listening on
 * `<gitdir>/fsmonitor--daemon.ipc`, starting the daemon if nothing listens, and copies the
 * answer to stdout. Any failure prints a token that can never be valid plus `/` (git then
 * rescans everything: slow, never wrong). It exits 0, never reads stdin and never writes to
 * stderr. The one exception: if stdout itself fails mid-write it exits 1, because a partial
 * list would be wrong and a failed hook is not.
 *
 * Order matters: the shim connects from inside the git dir (the socket's name is then short
 * whatever the path), but it must be back in the directory git started it in before it
 * writes the request, because the daemon compares the querying process's cwd with the
 * worktree it watches and answers `/` to anyone elsewhere.
 *
 * git has no read timeout, so the shim must never stall git. A daemon that accepts and then
 * says nothing for 900 ms (stopped, wedged, a foreign server) gets `/`, and the shim leaves
 * `<gitdir>/fsmond/unresponsive`; while that exists, shims give up after 20 ms, until the
 * daemon, answering any request, removes it. Once bytes flow, 8000 ms bound the whole answer.
 *
 * A small repository (fsmond/small-repo, see small_repo) gets `/` at once, no daemon asked.
 *
 * Cold path only (nothing listens on the default socket): `<gitdir>/fsmond/socket` names the
 * socket when the daemon had to put it elsewhere (fsmonitor.socketDir); a fresh
 * `<gitdir>/fsmond/refused` (younger than 60 s) means "answer / at once, start nothing"; a git
 * dir or `fsmond` that is not ours (sudo git status in someone else's repository) gets `/` and
 * nothing created. The daemon it starts reports through a pipe (fd 3, named in
 * GIT_FSMOND_START_FD): one line, `ok` once it listens, else why it refuses; a refusal, or
 * EOF from a daemon that died, ends the wait and is recorded in `refused`.
 *
 * Environment: GIT_DIR (git dir, relative to the worktree root if relative);
 * GIT_FSMOND_LAUNCHER (absolute path of the program run as `<launcher> daemon <root>`,
 * default `<pkg>/bin/git-fsmond`); GIT_FSMOND_HOOK_TIMEOUT_MS (for tests only: when set, it
 * replaces every wait: for the first byte, the answer, a starting daemon, a muted one).
 * hooks/fsmond-hook.cjs is the Node fallback and must behave the same.
 *
 * Portable: POSIX.1-2008 plus flock(), which every Unix we target has. On Linux the GNU
 * extensions are fast paths (flags given to socket() and open() instead of extra fcntl()
 * calls, pipe2, close_range, /proc/self/exe); a strict build (-D_POSIX_C_SOURCE=200809L,
 * as CI checks with gcc and clang) leaves them all out and runs the portable paths, which
 * is what macOS and the BSDs compile. FSMOND_LAUNCHER, when the build defines it
 * (hooks/build.mjs does), is where the daemon's launcher was at build time.
 */
#if defined(__linux__) && !defined(_POSIX_C_SOURCE) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE
#endif
#if defined(__linux__) && defined(_GNU_SOURCE)
#define LINUX_FAST 1
#else
#define LINUX_FAST 0
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#if LINUX_FAST
#include <sys/syscall.h>
#endif
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The contract with the daemon (src/contract/): test/unit/contract-shims.test.ts checks it. */
#define SOCK_NAME "fsmonitor--daemon.ipc"
#define STATE_DIR "fsmond"
#define POINTER "fsmond/socket"
#define REFUSED "fsmond/refused"
#define SPAWN_LOCK "fsmond/spawn.lock"
#define LOG "fsmond/daemon.log"
#define UNRESPONSIVE "fsmond/unresponsive"
#define SMALL_REPO "fsmond/small-repo"
#define REFUSED_FRESH_S 60
#define NEVER_VALID "builtin:fsmond-unavailable."
#define ANSWER_MS 8000
#define SPAWN_WAIT_MS 2000
#define FIRST_BYTE_MS 900
#define MUTED_WAIT_MS 20
#define TIMEOUT_ENV "GIT_FSMOND_HOOK_TIMEOUT_MS"
#define LAUNCHER_ENV "GIT_FSMOND_LAUNCHER"
#define START_FD_ENV "GIT_FSMOND_START_FD"
#define START_OK "ok"
#define DAEMON_NODE_OPTION "--jitless"
#define PKT_MAX 65520 /* header + payload */
#define PKT_DATA_MAX (PKT_MAX - 4)
#define ANSWER_MAX ((size_t)1 << 30)
#define DIED "the daemon exited before it listened; see git fsmond log"
#ifndef NSIG /* hidden by strict POSIX; signal() refuses numbers beyond the real range */
#define NSIG 65
#endif

/* The waits, all replaced by TIMEOUT_ENV when it is set. */
static long long answer_ms = ANSWER_MS, spawn_wait_ms = SPAWN_WAIT_MS;
static long long first_byte_ms = FIRST_BYTE_MS, muted_wait_ms = MUTED_WAIT_MS;

static long long now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

static void sleep_ms(long ms) {
  struct timespec t = {0, ms * 1000000L};
  while (nanosleep(&t, &t) < 0 && errno == EINTR) {
  }
}

/* Waits until fd is ready for `ev` or the deadline passes. 0 = ready, -1 = timeout/error. */
static int wait_fd(int fd, short ev, long long deadline) {
  for (;;) {
    long long left = deadline - now_ms();
    if (left <= 0) return -1;
    struct pollfd p = {fd, ev, 0};
    int r = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
    if (r > 0) return 0;
    if (r < 0 && errno != EINTR) return -1;
  }
}

static int write_all(int fd, const char *p, size_t n, long long deadline) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return -1;
      if (wait_fd(fd, POLLOUT, deadline) < 0) return -1;
      continue;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* Writes the whole answer to stdout and exits 0; exits 1 if stdout fails (see above). */
_Noreturn static void emit(const char *p, size_t n) {
  if (write_all(1, p, n, now_ms() + 60000) < 0) _exit(1);
  _exit(0);
}

_Noreturn static void fail(void) {
  char m[96];
  int n = snprintf(m, sizeof m - 3, NEVER_VALID "%ld.%lld:0", (long)getpid(),
                   (long long)time(NULL));
  if (n < 0 || n >= (int)sizeof m - 3) _exit(1);
  memcpy(m + n, "\0/\0", 3);
  emit(m, (size_t)n + 3);
}

/* chdir into the git dir: $GIT_DIR, `.git`, or the `gitdir: <path>` line of a `.git` file. */
static int enter_gitdir(void) {
  const char *env = getenv("GIT_DIR");
  if (env && *env) return chdir(env);
  if (chdir(".git") == 0) return 0;
  if (errno != ENOTDIR) return -1;
  char buf[PATH_MAX + 16];
  int fd = open(".git", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n;
  do n = read(fd, buf, sizeof buf - 1);
  while (n < 0 && errno == EINTR);
  close(fd);
  if (n < 9 || memcmp(buf, "gitdir: ", 8) != 0) return -1;
  while (n > 8 && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) n--;
  buf[n] = '\0';
  return chdir(buf + 8);
}

/* A big-endian 32-bit number. */
static unsigned long be32(const unsigned char *p) {
  return (unsigned long)p[0] << 24 | (unsigned long)p[1] << 16 | (unsigned long)p[2] << 8 | p[3];
}

/* A daemon that started in a small repository left its fsmond.smallRepoEntries in SMALL_REPO:
 * while the index (its header: "DIRC", version, entry count) has fewer entries, git's own
 * rescan costs less than the round trip, so the shim answers `/` without asking. `/` is
 * always correct; anything unexpected (another GIT_INDEX_FILE, no index) means "ask". Opened
 * non-blocking: a FIFO planted there reads as empty instead of stalling git. */
static int small_repo(void) {
  char b[24];
  unsigned char h[12];
  if (getenv("GIT_INDEX_FILE")) return 0;
  int f = open(SMALL_REPO, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (f < 0) return 0;
  ssize_t n = read(f, b, sizeof b - 1);
  close(f);
  if (n <= 0) return 0;
  b[n] = '\0';
  long limit = strtol(b, NULL, 10);
  if (limit <= 0 || (f = open("index", O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0) return 0;
  n = read(f, h, sizeof h);
  close(f);
  return n == (ssize_t)sizeof h && memcmp(h, "DIRC", 4) == 0 && be32(h + 8) < (unsigned long)limit;
}

/* Non-blocking connect to `name` (short: relative to the cwd). A full backlog gives EAGAIN
 * instead of blocking. */
static int connect_name(const char *name) {
  struct sockaddr_un a;
  size_t n = strlen(name);
  if (n >= sizeof a.sun_path) {
    errno = ENAMETOOLONG;
    return -1;
  }
#if LINUX_FAST
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
#else
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 || fcntl(fd, F_SETFL, O_NONBLOCK) < 0) {
    close(fd);
    return -1;
  }
#endif
  memset(&a, 0, sizeof a);
  a.sun_family = AF_UNIX;
  memcpy(a.sun_path, name, n);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0) return fd;
  int e = errno;
  close(fd);
  errno = e;
  return -1;
}

/* The hot path: cwd is the git dir, so the name is always short whatever the path. */
static int try_connect(void) { return connect_name(SOCK_NAME); }

/* The socket the pointer file names, if it is a socket of ours. ENOENT when there is none. */
static int connect_pointer(void) {
  char p[PATH_MAX];
  int f = open(POINTER, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK); /* a FIFO: no wait */
  ssize_t n = -1;
  if (f >= 0) {
    n = read(f, p, sizeof p - 1);
    close(f);
  }
  while (n > 0 && (p[n - 1] == '\n' || p[n - 1] == '\r')) n--;
  struct stat st;
  if (n < 2 || p[0] != '/') goto none;
  p[n] = '\0';
  if (lstat(p, &st) < 0 || !S_ISSOCK(st.st_mode) || st.st_uid != geteuid()) goto none;
  char *base = strrchr(p, '/') + 1;
  if ((size_t)n < sizeof ((struct sockaddr_un *)0)->sun_path) return connect_name(p);
  /* Too long for sun_path: connect by its name from its directory, as git does. */
  int here = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (here < 0) return -1;
  base[-1] = '\0';
  int fd = -1;
  if (chdir(*p ? p : "/") == 0) fd = connect_name(base);
  int e = errno;
  if (fchdir(here) < 0) fail(); /* the spawn lock and the pointer are relative to the git dir */
  close(here);
  errno = e;
  return fd;
none:
  errno = ENOENT;
  return -1;
}

/* Cold path: the default socket, else the one the pointer names. */
static int try_connect_any(void) {
  int fd = try_connect();
  return fd < 0 && errno == ENOENT ? connect_pointer() : fd;
}

/* A daemon refused to start for a lasting reason a moment ago: starting another is futile. */
static int refused_fresh(void) {
  struct stat st;
  if (stat(REFUSED, &st) < 0) return 0;
  time_t age = time(NULL) - st.st_mtime;
  return age > -REFUSED_FRESH_S && age < REFUSED_FRESH_S;
}

static void close_from(unsigned lo) {
#if LINUX_FAST && defined(SYS_close_range)
  if (syscall(SYS_close_range, lo, ~0U, 0U) == 0) return;
#endif
  long max = sysconf(_SC_OPEN_MAX);
  if (max < 0 || max > 1 << 20) max = 1 << 20;
  for (long i = lo; i < max; i++) close((int)i);
}

/* Opens `name` for writing (mode 0600 if new), but only inside a real `fsmond` directory of
 * ours: a planted symlink must not choose where we write, and a FIFO must not make us wait
 * (non-blocking: with no reader the open fails at once; anything but a regular file is
 * refused). */
static int open_state(const char *name, int flags) {
  struct stat st;
  if (lstat(STATE_DIR, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid()) return -1;
  int fd = open(name, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | flags, 0600);
  if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))) {
    close(fd);
    return -1;
  }
  return fd;
}

/* The daemon's log, for its stdout and stderr: a daemon that dies before its logger starts
 * (no node, a broken install) leaves its reason where `git fsmond log` looks. */
static int open_log(void) { return open_state(LOG, O_APPEND); }

static void mark_unresponsive(void) {
  int f = open_state(UNRESPONSIVE, 0);
  if (f >= 0) close(f);
}

/* The one line `git fsmond` shows as the reason of the last refusal. */
static void record_refusal(const char *why) {
  int f = open_state(REFUSED, O_TRUNC);
  if (f < 0) return;
  dprintf(f, "%.*s\n", (int)strcspn(why, "\n"), why);
  close(f);
}

/* Before the cold path creates anything: the git dir and `fsmond` must be ours. Under sudo in
 * someone else's repository that is not so, and a root-owned file there would lock its owner
 * out; git itself is just as wary of repositories that are not the user's. */
static int may_start(void) {
  struct stat st;
  uid_t me = geteuid();
  if (stat(".", &st) < 0 || st.st_uid != me) return 0;
  if (mkdir(STATE_DIR, 0700) < 0 && errno != EEXIST) return 0;
  return lstat(STATE_DIR, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == me;
}

/* A spawn.lock that root left in our directory (an older shim under sudo) is ours to replace. */
static int open_spawn_lock(void) {
  for (int retried = 0;; retried = 1) {
    int fd = open(SPAWN_LOCK, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd >= 0 || errno != EACCES || retried || unlink(SPAWN_LOCK) < 0) return fd;
  }
}

/* This program's own path: from the kernel on Linux, else argv[0] when absolute (git runs
 * core.fsmonitor as written, and `enable` writes an absolute path). */
static const char *argv0 = "";
static int self_path(char *out, size_t cap) {
#ifdef __linux__
  ssize_t n = readlink("/proc/self/exe", out, cap - 1);
  if (n > 0 && (size_t)n < cap - 1) {
    out[n] = '\0';
    return 0;
  }
#endif
  if (argv0[0] != '/' || strlen(argv0) >= cap) return -1;
  strcpy(out, argv0);
  return 0;
}

/* $GIT_FSMOND_LAUNCHER, else the launcher of the build (FSMOND_LAUNCHER: a shim built into
 * another directory with build.mjs --out still finds it), else the one next to this shim:
 * <pkg>/hooks/bin/fsmond-hook -> <pkg>/bin/git-fsmond. NULL when none is executable. */
static const char *find_launcher(char *buf, size_t cap) {
  const char *env = getenv(LAUNCHER_ENV);
  if (env && *env) return access(env, X_OK) == 0 ? env : NULL;
#ifdef FSMOND_LAUNCHER
  if (access(FSMOND_LAUNCHER, X_OK) == 0) return FSMOND_LAUNCHER;
#endif
  const char *tail = "/bin/git-fsmond";
  if (self_path(buf, cap - strlen(tail)) < 0) return NULL;
  for (int i = 0; i < 3; i++) {
    char *s = strrchr(buf, '/');
    if (!s) return NULL;
    *s = '\0';
  }
  strcat(buf, tail);
  return access(buf, X_OK) == 0 ? buf : NULL;
}

/* NODE_OPTIONS with DAEMON_NODE_OPTION added (V8 without its JIT: ~1 MB less RSS for the
 * daemon's life), the user's own options kept. */
static int add_daemon_node_option(void) {
  const char *old = getenv("NODE_OPTIONS");
  if (!old || !*old) return setenv("NODE_OPTIONS", DAEMON_NODE_OPTION, 1);
  char both[8192];
  int n = snprintf(both, sizeof both, "%s %s", old, DAEMON_NODE_OPTION);
  return n > 0 && (size_t)n < sizeof both ? setenv("NODE_OPTIONS", both, 1) : 0;
}

/* A pipe whose both ends are closed on exec (the child re-opens its end as fd 3). */
static int cloexec_pipe(int p[2]) {
#if LINUX_FAST
  return pipe2(p, O_CLOEXEC);
#else
  if (pipe(p) < 0) return -1;
  if (fcntl(p[0], F_SETFD, FD_CLOEXEC) == 0 && fcntl(p[1], F_SETFD, FD_CLOEXEC) == 0) return 0;
  close(p[0]);
  close(p[1]);
  return -1;
#endif
}

/* Starts `<launcher> daemon <root>` fully detached (double fork, setsid). Returns the read
 * end of its start-status pipe, or -1 when it could not be started. */
static int spawn_daemon(const char *root) {
  char exe[PATH_MAX];
  const char *launcher = find_launcher(exe, sizeof exe);
  int p[2];
  if (!*root || !launcher || cloexec_pipe(p) < 0) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    if (setsid() < 0) _exit(1);
    pid_t g = fork();
    if (g != 0) _exit(g < 0);
    int nul = open("/dev/null", O_RDWR), log = open_log();
    if (log < 0) log = nul;
    if (nul < 0 || dup2(nul, 0) < 0 || dup2(log, 1) < 0 || dup2(log, 2) < 0) _exit(1);
    char gd[PATH_MAX]; /* cwd is the git dir: hand the daemon an absolute GIT_DIR */
    if (getenv("GIT_DIR") && (!getcwd(gd, sizeof gd) || setenv("GIT_DIR", gd, 1) < 0)) _exit(1);
    /* git keeps fds 0-2 open, so the pipe is above them: as fd 3 it is all the daemon gets. */
    if ((p[1] == 3 ? fcntl(3, F_SETFD, 0) : dup2(p[1], 3)) < 0) _exit(1);
    if (setenv(START_FD_ENV, "3", 1) < 0) _exit(1);
    close_from(4);
    if (chdir("/") < 0) _exit(1);
    unsetenv("NODE_EXTRA_CA_CERTS");
    if (add_daemon_node_option() < 0) _exit(1);
    sigset_t none; /* the daemon starts with default signals, like a libuv child */
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (int sig = 1; sig < NSIG; sig++) signal(sig, SIG_DFL);
    execl(launcher, launcher, "daemon", root, (char *)NULL);
    _exit(127);
  }
  close(p[1]); /* else the daemon's exit would not read as EOF */
  int st = -1;
  while (pid > 0 && waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (pid > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0) return p[0];
  close(p[0]);
  return -1;
}

/* Waits up to 2 ms for the started daemon's line (see spawn_daemon). Returns 1 once it
 * refused or died, with the reason in `why`; 0 while it may still listen. */
static int start_failed(int *status, char *why, size_t cap) {
  struct pollfd p = {*status, POLLIN, 0};
  if (poll(&p, 1, 2) <= 0) return 0;
  ssize_t n = read(*status, why, cap - 1);
  if (n < 0 && errno == EINTR) return 0;
  close(*status);
  *status = -1;
  if (n == sizeof START_OK "\n" - 1 && memcmp(why, START_OK "\n", (size_t)n) == 0) return 0;
  if (n > 0) why[n] = '\0';
  else strcpy(why, DIED);
  return 1;
}

/* Nothing listens (ENOENT/ECONNREFUSED): whoever holds <gitdir>/fsmond/spawn.lock checks
 * once more and starts the daemon; everyone polls until the socket accepts, time runs out,
 * or the daemon refuses. The lock is a flock, so a holder that dies releases it. A full
 * backlog (EAGAIN) is polled for only briefly when the daemon is muted; `*stalled` tells
 * that it never made room. */
static int connect_or_start(const char *root, int muted, int *stalled) {
  long long t0 = now_ms(), end = t0 + spawn_wait_ms;
  long long busy_end = muted ? t0 + muted_wait_ms : end;
  int lock = -1, held = 0, spawned = 0, status = -1, failed = 0, fd;
  char why[512];
  for (;;) {
    if ((fd = try_connect_any()) >= 0) break;
    int e = errno;
    if (e != ENOENT && e != ECONNREFUSED && e != EAGAIN) break;
    if (failed && e != EAGAIN) { /* connected once more after it ended: nothing listens */
      record_refusal(why);
      break;
    }
    if (e == EAGAIN ? now_ms() >= busy_end : refused_fresh()) {
      *stalled = e == EAGAIN;
      break;
    }
    if (e != EAGAIN && !spawned) {
      if (held) {
        if ((status = spawn_daemon(root)) < 0) break;
        spawned = 1;
        continue;
      }
      if (lock < 0 && (!may_start() || (lock = open_spawn_lock()) < 0)) break;
      if (flock(lock, LOCK_EX | LOCK_NB) == 0) {
        held = 1;
        continue; /* try connecting once more before starting anything */
      }
      if (errno != EWOULDBLOCK && errno != EINTR) break;
    }
    if (now_ms() >= end) break;
    if (status < 0) sleep_ms(2);
    else failed = start_failed(&status, why, sizeof why);
  }
  if (status >= 0) close(status);
  if (lock >= 0) close(lock);
  return fd;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Sends the token, reads the answer, prints it if valid. Returns only on failure: 1 if the
 * daemon sent nothing within `first_ms` (it is mute), else 0. */
static int query(int fd, const char *tok, long long first_ms) {
  long long first = now_ms() + first_ms, deadline = now_ms() + answer_ms;
  size_t tl = strlen(tok), np = (tl + PKT_DATA_MAX - 1) / PKT_DATA_MAX;
  size_t cap = tl + 4 * np + 4 > 131072 ? tl + 4 * np + 4 : 131072;
  char *b = malloc(cap), *q = b;
  if (!b) return 0;
  for (size_t off = 0; off < tl; off += PKT_DATA_MAX) {
    size_t n = tl - off < PKT_DATA_MAX ? tl - off : PKT_DATA_MAX;
    for (int i = 3, v = (int)n + 4; i >= 0; i--, v >>= 4) q[i] = "0123456789abcdef"[v & 15];
    memcpy(q + 4, tok + off, n);
    q += n + 4;
  }
  memcpy(q, "0000", 4);
  /* A daemon that does not even read the request is as mute as one that does not answer. */
  if (write_all(fd, b, (size_t)(q + 4 - b), first) < 0) return now_ms() >= first;

  /* b[0..o) = payload so far, b[o..n) = unparsed bytes; payloads are moved down in place. */
  size_t n = 0, o = 0;
  for (;;) {
    size_t p = o;
    while (n - p >= 4) {
      int len = 0;
      for (size_t i = 0; i < 4; i++) {
        int h = hexval(b[p + i]);
        if (h < 0) return 0;
        len = len * 16 + h;
      }
      if (len == 0) { /* flush: the answer is complete */
        if (o == 0 || b[0] == '\0' || !memchr(b, '\0', o)) return 0;
        emit(b, o);
      }
      if (len <= 4 || len > PKT_MAX) return 0; /* 0001-0004 (delim, end, empty) are errors */
      if (n - p < (size_t)len) break;
      memmove(b + o, b + p + 4, (size_t)len - 4);
      o += (size_t)len - 4;
      p += (size_t)len;
    }
    memmove(b + o, b + p, n - p);
    n = o + (n - p);
    if (cap - n < 65536) {
      if (cap >= ANSWER_MAX) return 0;
      char *nb = realloc(b, cap * 2);
      if (!nb) return 0;
      b = nb;
      cap *= 2;
    }
    long long limit = n > 0 ? deadline : first; /* the deadline also bounds a trickle */
    if (now_ms() >= limit) return n == 0;
    ssize_t r = read(fd, b + n, cap - n);
    if (r == 0) return 0; /* EOF before the flush packet */
    if (r < 0) {
      if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) return 0;
      if (errno != EINTR && wait_fd(fd, POLLIN, limit) < 0) return n == 0 && now_ms() >= first;
      continue;
    }
    n += (size_t)r;
  }
}

/* The directory git started us in is kept open to come back to. O_PATH needs no read
 * permission; elsewhere an unreadable directory is returned to by its path. */
#if LINUX_FAST
#define START_DIR_FLAGS O_PATH
#elif defined(O_SEARCH)
#define START_DIR_FLAGS O_SEARCH
#else
#define START_DIR_FLAGS O_RDONLY
#endif

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  if (argc < 2 || strcmp(argv[1], "2") != 0) emit("/", 1);
  const char *env = getenv(TIMEOUT_ENV);
  long long set = env ? atoll(env) : 0;
  if (set > 0) answer_ms = spawn_wait_ms = first_byte_ms = muted_wait_ms = set;
  char root[PATH_MAX];
  if (!getcwd(root, sizeof root)) root[0] = '\0';
  argv0 = argv[0];
  int start = open(".", START_DIR_FLAGS | O_DIRECTORY | O_CLOEXEC); /* the header: order matters */
  if ((start < 0 && !*root) || enter_gitdir() < 0 || small_repo()) fail();
  struct stat st;
  int muted = lstat(UNRESPONSIVE, &st) == 0, stalled = 0;
  int fd = try_connect();
  if (fd < 0 && (errno == ENOENT || errno == ECONNREFUSED || errno == EAGAIN))
    fd = connect_or_start(root, muted, &stalled);
  if (fd >= 0) {
    if ((start >= 0 ? fchdir(start) : chdir(root)) < 0) fail();
    stalled = query(fd, argc > 2 ? argv[2] : "", muted ? muted_wait_ms : first_byte_ms);
    if (stalled && enter_gitdir() < 0) fail(); /* the marker is relative to the git dir */
  }
  if (stalled && !muted) mark_unresponsive();
  fail();
}
