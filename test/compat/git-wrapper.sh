#!/bin/sh
# Installed as `git` in a shadow GIT_EXEC_PATH by run.sh: git's own fsmonitor--daemon commands
# (typed by a test, or run by git itself when nothing listens on the socket) go to git-fsmond;
# everything else goes to the real git. @REAL_GIT@, @FSMOND@ and @SHADOW@ are filled in by run.sh.
real='@REAL_GIT@'
fsmond='@FSMOND@'
# Scripts such as git-submodule ask `git --exec-path` for their helpers: it must stay the shadow.
GIT_EXEC_PATH='@SHADOW@'
export GIT_EXEC_PATH
# Skip git's global options to find the command; -C is done here, as git does it (cumulative).
i=0
for a in "$@"; do
  i=$((i + 1))
  case "$a" in
  -C) next_is_dir=1; continue ;;
  -c | --git-dir | --work-tree | --namespace) skip=1; continue ;;
  esac
  if [ -n "$next_is_dir" ]; then dirs="$dirs$a
"; next_is_dir=''; continue; fi
  if [ -n "$skip" ]; then skip=''; continue; fi
  case "$a" in
  -*) continue ;;
  fsmonitor--daemon) sub_at=$i ;;
  esac
  break
done
[ -n "$sub_at" ] || exec "$real" "$@"
shift "$sub_at"
action=''
for a in "$@"; do
  case "$a" in
  start | stop | status | run) action=$a ;;
  esac
done
[ -n "$action" ] || exec "$real" fsmonitor--daemon "$@"
# One directory per line (paths with spaces, as git's test trash directories have).
while IFS= read -r d; do
  [ -z "$d" ] || cd "$d" || exit 128
done <<DIRS
$dirs
DIRS
exec "$fsmond" "$action"
