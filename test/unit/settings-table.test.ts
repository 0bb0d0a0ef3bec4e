/**
 * The settings table (src/daemon/settings.ts): git's value syntax, clamping, and the README's
 * configuration table, which must be the table's own rendering. FSMOND_WRITE_README=1 rewrites
 * the README section instead of failing.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { PACKAGE_ROOT } from '../../src/cli/common.js';
import { settingProblems, settingWarnings } from '../../src/cli/keys.js';
import {
  FIRST_BYTE_BUDGET_MS,
  parseBool,
  parseDuration,
  parseInteger,
  SETTINGS,
  settingsFrom,
  settingsMarkdown,
} from '../../src/daemon/settings.js';

const BEGIN = /<!-- settings table:[^>]*-->\n/;
const END = '\n<!-- end of settings table -->';

test('the README configuration table is the one generated from the settings table', () => {
  const readme = path.join(PACKAGE_ROOT, 'README.md');
  const text = fs.readFileSync(readme, 'utf8');
  const begin = BEGIN.exec(text);
  const end = text.indexOf(END);
  assert.ok(begin && end > begin.index, 'the README has the settings table markers');
  const at = begin.index + begin[0].length;
  const want = settingsMarkdown();
  if (process.env.FSMOND_WRITE_README === '1') {
    fs.writeFileSync(readme, text.slice(0, at) + want + text.slice(end));
    return;
  }
  assert.equal(
    text.slice(at, end),
    want,
    'README.md is out of date: run FSMOND_WRITE_README=1 node --test dist/test/unit/settings-table.test.js',
  );
});

test("git's booleans and integers, one parser each", () => {
  for (const v of ['true', 'YES', 'on', '1', '-3', ' true ']) assert.equal(parseBool(v), true, v);
  for (const v of ['false', 'no', 'Off', '0', '']) assert.equal(parseBool(v), false, v);
  for (const v of ['maybe', '1.5', '0x1']) assert.equal(parseBool(v), null, v);
  assert.equal(parseInteger('4k'), 4096);
  assert.equal(parseInteger('2M'), 2 << 20);
  assert.equal(parseInteger('1g'), 1 << 30);
  assert.equal(parseInteger('-7'), -7);
  assert.equal(parseInteger('2s'), null);
  assert.equal(parseInteger('99999999999g'), Number.MAX_SAFE_INTEGER);
});

test('every number is clamped into its range; doctor names the clamp', () => {
  const config = new Map([
    ['fsmond.cookietimeoutms', '99999999999'],
    ['fsmond.readytimeoutms', '-5'],
    ['fsmond.logmaxbytes', '1'],
    ['fsmond.answercachebytes', '9g'],
  ]);
  const s = settingsFrom(config);
  assert.equal(s.cookieTimeoutMs, SETTINGS.cookieTimeoutMs.max);
  assert.equal(s.readyTimeoutMs, SETTINGS.readyTimeoutMs.min);
  assert.equal(s.logMaxBytes, 4096);
  assert.equal(s.answerCacheBytes, 1 << 30);
  // Node's timers fire at once beyond this.
  assert.ok(s.cookieTimeoutMs < 2 ** 31);
  const problems = settingProblems(config).join('\n');
  assert.match(
    problems,
    /fsmond\.cookieTimeoutMs=99999999999 is above the maximum 10000, so 10000 is used/,
  );
  assert.match(problems, /fsmond\.readyTimeoutMs=-5 is below the minimum 0, so 0 is used/);
  assert.match(problems, /fsmond\.logMaxBytes=1 is below the minimum 4k, so 4k is used/);
});

test("the defaults answer inside the shim's first-byte wait; doctor warns when they do not", () => {
  const d = settingsFrom(new Map());
  assert.equal(d.readyTimeoutMs, 250);
  assert.equal(d.cookieTimeoutMs, 550);
  assert.ok(d.readyTimeoutMs + d.cookieTimeoutMs < FIRST_BYTE_BUDGET_MS);
  assert.deepEqual(settingWarnings(new Map(), 'linux'), []);
  const slow = new Map([['fsmond.cookietimeoutms', '650']]);
  assert.match(settingWarnings(slow, 'linux').join(), /= 900 ms, not below the 900 ms/);
  const parcel = new Map([['fsmond.backend', 'parcel']]);
  assert.match(settingWarnings(parcel, 'linux').join(), /parcel loses events on Linux/);
  assert.deepEqual(settingWarnings(parcel, 'darwin'), []);
});

test('fsmond.idleTimeout: seconds or s/m/h/d, 0 is never, the rest clamped', () => {
  assert.equal(parseDuration('90'), 90);
  assert.equal(parseDuration('30m'), 1800);
  assert.equal(parseDuration('4H'), 14_400);
  assert.equal(parseDuration('2d'), 172_800);
  assert.equal(parseDuration('1.5h'), null);
  assert.equal(parseDuration('-1'), null);
  const idle = (v: string) => settingsFrom(new Map([['fsmond.idletimeout', v]])).idleTimeout;
  assert.equal(settingsFrom(new Map()).idleTimeout, 4 * 3600);
  assert.equal(idle('0'), 0);
  assert.equal(idle('45s'), 45);
  assert.equal(idle('999d'), 30 * 86_400);
  assert.equal(idle('soon'), 4 * 3600);
  assert.deepEqual(settingProblems(new Map([['fsmond.idletimeout', '999d']])), [
    'fsmond.idleTimeout=999d is above the maximum 30d, so 30d is used',
  ]);
});
