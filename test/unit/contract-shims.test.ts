import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { PACKAGE_ROOT } from '../../src/cli/common.js';
import {
  DAEMON_NODE_OPTION,
  HOOK_LIMITS,
  LAYOUT,
  NEVER_VALID_ID_PREFIX,
  REFUSED_FRESH_MS,
  START_STATUS,
} from '../../src/contract/index.js';

/** What both shims must spell exactly as src/contract/ does. */
const inState = (name: string) => `${LAYOUT.stateDir}/${name}`;
const EXPECTED: Record<string, string | number> = {
  SOCK_NAME: LAYOUT.socket,
  STATE_DIR: LAYOUT.stateDir,
  POINTER: inState(LAYOUT.socketPointer),
  REFUSED: inState(LAYOUT.refused),
  LOG: inState(LAYOUT.log),
  UNRESPONSIVE: inState(LAYOUT.unresponsive),
  SMALL_REPO: inState(LAYOUT.smallRepo),
  NEVER_VALID: `builtin:${NEVER_VALID_ID_PREFIX.shim}`,
  ANSWER_MS: HOOK_LIMITS.answerMs,
  SPAWN_WAIT_MS: HOOK_LIMITS.spawnWaitMs,
  FIRST_BYTE_MS: HOOK_LIMITS.firstByteMs,
  MUTED_WAIT_MS: HOOK_LIMITS.mutedWaitMs,
  TIMEOUT_ENV: HOOK_LIMITS.timeoutEnv,
  LAUNCHER_ENV: HOOK_LIMITS.launcherEnv,
  START_FD_ENV: START_STATUS.fdEnv,
  START_OK: START_STATUS.ready,
  DAEMON_NODE_OPTION,
};

function literal(raw: string): string | number {
  const t = raw.trim();
  if (/^['"]/.test(t)) return t.slice(1, -1);
  return Number(t.replace(/_/g, ''));
}

/** `#define NAME value` (C) or `const NAME = value;` (CommonJS), top level only. */
function constants(file: string, re: RegExp): Map<string, string | number> {
  const text = fs.readFileSync(path.join(PACKAGE_ROOT, 'hooks', file), 'utf8');
  return new Map([...text.matchAll(re)].map((m) => [m[1]!, literal(m[2]!)]));
}

const C = constants('fsmond-hook.c', /^#define ([A-Z_]+) ("[^"\n]*"|\d+)\s*$/gm);
const CJS = constants('fsmond-hook.cjs', /^const ([A-Z_]+) = ('[^'\n]*'|[\d_]+);$/gm);

for (const [shim, consts] of [
  ['fsmond-hook.c', C],
  ['fsmond-hook.cjs', CJS],
] as const) {
  test(`${shim} spells the contract as src/contract/ does`, () => {
    for (const [name, want] of Object.entries(EXPECTED)) {
      assert.equal(consts.get(name), want, `${shim}: ${name}`);
    }
  });
}

test('both shims use the contract spawn lock and refusal window', () => {
  assert.equal(C.get('SPAWN_LOCK'), inState(LAYOUT.spawnLock));
  assert.equal(C.get('REFUSED_FRESH_S'), REFUSED_FRESH_MS / 1000);
  assert.equal(CJS.get('REFUSED_FRESH_MS'), REFUSED_FRESH_MS);
});
