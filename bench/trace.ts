/** A one-line summary of a GIT_TRACE2_PERF trace, for the benchmark details. */

/** Where one traced git command spent its time: top-level trace2 regions, plus a few details. */
export function summarizeTrace(text: string): string {
  const regions = new Map<string, number>();
  const data = new Map<string, string>();
  for (const line of text.split('\n')) {
    // `time file:line | d0 | main | event | r1 | t_abs | t_rel | category | label:... or key:value`
    const f = line.split('|').map((x) => x.trim());
    if (f.length < 9) continue;
    const what = f[8]!.replace(/^\.+/, '').split(' ')[0]!;
    if (f[3] === 'region_leave' && what.startsWith('label:')) {
      const key = `${f[7]}/${what.slice('label:'.length)}`;
      const t = Number(f[6]);
      if (Number.isFinite(t)) regions.set(key, (regions.get(key) ?? 0) + t * 1000);
    } else if (f[3] === 'data') {
      const colon = what.indexOf(':');
      if (colon > 0) data.set(`${f[7]}/${what.slice(0, colon)}`, what.slice(colon + 1));
    }
  }
  const parts: string[] = [];
  const add = (name: string, key: string, wrap = false) => {
    const v = regions.get(key);
    if (v !== undefined) parts.push(wrap ? `(${name} ${v.toFixed(1)})` : `${name} ${v.toFixed(1)}`);
  };
  add('read index', 'index/do_read_index');
  add('hook', 'fsm_hook/query');
  add('socket', 'fsm_client/query');
  add('preload', 'index/preload');
  add('refresh', 'index/refresh');
  add('worktree diff', 'status/worktrees');
  add('index diff', 'status/index');
  add('untracked', 'status/untracked');
  add('of which name-hash-init', 'index/name-hash-init', true);
  add('write index', 'index/do_write_index');
  const d = (k: string) => data.get(k);
  const extra = [
    d('fsm_hook/query/response-length') &&
      `hook answer ${d('fsm_hook/query/response-length')} bytes`,
    d('fsm_client/query/response-length') &&
      `socket answer ${d('fsm_client/query/response-length')} bytes`,
    // Files git lstat'ed: all of them when the fsmonitor answer was `/`.
    d('index/refresh/sum_lstat') && `lstat ${d('index/refresh/sum_lstat')}`,
    d('fsmonitor/apply_count') && `paths applied ${d('fsmonitor/apply_count')}`,
    d('read_directo/directory-invalidation') &&
      `untracked-cache invalidations ${d('read_directo/directory-invalidation')}`,
    d('read_directo/opendir') && `opendir ${d('read_directo/opendir')}`,
  ].filter(Boolean);
  return [...parts, ...extra].join(', ');
}
