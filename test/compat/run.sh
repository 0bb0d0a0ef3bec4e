#!/usr/bin/env bash
# Runs git's own fsmonitor test scripts against git-fsmond.
#   test/compat/run.sh <git build dir> [script ...]   (default: t7527-builtin-fsmonitor.sh)
# The build dir is a built git source tree (>= 2.55, with t/). Every `git fsmonitor--daemon
# start|stop|status|run`, typed by a test or spawned by git itself, is routed to git-fsmond
# through a `git` placed first in a shadow GIT_EXEC_PATH; the rest runs the real git.
set -euo pipefail
build=$(cd "${1:?usage: run.sh <git build dir> [script ...]}" && pwd)
shift
[ $# -gt 0 ] || set -- t7527-builtin-fsmonitor.sh
here=$(cd "$(dirname "$0")" && pwd)
pkg=$(cd "$here/../.." && pwd)
shadow=$(mktemp -d "${TMPDIR:-/tmp}/fsmond-compat-XXXXXX")
trap 'rm -rf "$shadow"' EXIT
for f in "$build"/git-* "$build"/templates; do
  [ -e "$f" ] && ln -s "$f" "$shadow/$(basename "$f")"
done
sed -e "s|@REAL_GIT@|$build/git|" -e "s|@FSMOND@|$pkg/bin/git-fsmond|" -e "s|@SHADOW@|$shadow|" "$here/git-wrapper.sh" \
  >"$shadow/git"
chmod +x "$shadow/git"
cd "$build/t"
status=0
for script in "$@"; do
  # shellcheck disable=SC2086 # COMPAT_FLAGS is a list of test-lib options
  GIT_TEST_INSTALLED=$shadow GIT_EXEC_PATH=$shadow "./$script" ${COMPAT_FLAGS:-} ||
    status=$?
done
exit "$status"
