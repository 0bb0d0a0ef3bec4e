#!/usr/bin/env bash
# Runs git's own test scripts against git-fsmond.
#   test/compat/run.sh <git build dir> [script ...]   (default: t7527-builtin-fsmonitor.sh)
# The build dir is a built git source tree (>= 2.55, with t/). Every `git fsmonitor--daemon
# start|stop|status|run`, typed by a test or spawned by git itself, is routed to git-fsmond
# through a `git` placed first in a shadow GIT_EXEC_PATH; the rest runs the real git.
# Every script but t7527 (which tests the daemon itself) also runs with GIT_TEST_FSMONITOR set
# to our hook shim, so that each git command in it asks git-fsmond (t/README). COMPAT_BASELINE=1
# leaves that out: the same scripts through the same git without git-fsmond, to compare with.
# Trash directories go below a fresh temporary --root, so that runs from several checkouts do
# not collide; a daemon still running there after a script is named on stderr and stopped.
# COMPAT_KEEP=1 keeps them (with COMPAT_FLAGS=--debug, test-lib keeps each trash directory).
set -euo pipefail
build=$(cd "${1:?usage: run.sh <git build dir> [script ...]}" && pwd)
shift
[ $# -gt 0 ] || set -- t7527-builtin-fsmonitor.sh
here=$(cd "$(dirname "$0")" && pwd)
pkg=$(cd "$here/../.." && pwd)
shadow=$(mktemp -d "${TMPDIR:-/tmp}/fsmond-compat-XXXXXX")
root="$shadow/trash"
trap '[ -n "${COMPAT_KEEP:-}" ] || rm -rf "$shadow"' EXIT
for f in "$build"/git-* "$build"/templates; do
  [ -e "$f" ] && ln -s "$f" "$shadow/$(basename "$f")"
done
sed -e "s|@REAL_GIT@|$build/git|" -e "s|@FSMOND@|$pkg/bin/git-fsmond|" -e "s|@SHADOW@|$shadow|" "$here/git-wrapper.sh" \
  >"$shadow/git"
chmod +x "$shadow/git"

# Daemons of ours whose worktree is below $root (a failed test keeps its trash directory). The
# pid must still run a daemon for a worktree there: pids are reused, and fast on a busy machine.
stop_leftovers() {
  "$pkg/bin/git-fsmond" list --json | node -e '
    const fs = require("fs");
    const root = process.argv[1] + "/";
    const cmdline = (pid) => { try { return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8"); } catch { return ""; } };
    for (const d of JSON.parse(fs.readFileSync(0, "utf8")))
      if (d.pid && d.worktree.startsWith(root) && cmdline(d.pid).includes(`\0daemon\0${root}`))
        console.log(d.pid, d.worktree);
  ' "$root" | while read -r pid wt; do
    echo "compat: $1 left daemon pid $pid running for '$wt': stopping it" >&2
    kill "$pid" 2>/dev/null || :
  done
}

cd "$build/t"
status=0
for script in "$@"; do
  monitor=''
  [ -n "${COMPAT_BASELINE:-}" ] || [ "$script" = t7527-builtin-fsmonitor.sh ] ||
    monitor="$pkg/hooks/bin/fsmond-hook"
  # shellcheck disable=SC2086 # COMPAT_FLAGS is a list of test-lib options
  GIT_TEST_INSTALLED=$shadow GIT_EXEC_PATH=$shadow GIT_TEST_FSMONITOR=$monitor \
    "./$script" --root="$root" ${COMPAT_FLAGS:-} || status=$?
  stop_leftovers "$script"
done
exit "$status"
