/** Usage: help with examples and exit codes for every command, one-line usage errors (exit 2). */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { assertOneLineError, CliSandbox } from '../helpers/cli-sandbox.js';

const COMMANDS = [
  'enable',
  'disable',
  'start',
  'run',
  'stop',
  'status',
  'query',
  'flush',
  'log',
  'doctor',
  'list',
  'completion',
];

describe('cli usage', () => {
  const box = CliSandbox.forSuite();
  let wt: string;
  before(() => {
    wt = box.repo('wt');
  });

  test('--help of the program lists every command and the exit codes', async () => {
    const r = await box.run(['--help'], wt);
    assert.equal(r.code, 0);
    for (const c of COMMANDS) assert.match(r.stdout, new RegExp(`^  ${c}\\b`, 'm'), c);
    assert.doesNotMatch(r.stdout, /^ {2}daemon\b/m, 'the shim-only command stays hidden');
    assert.match(r.stdout, /^Exit status:$/m);
    assert.match(r.stdout, /^ {2}2 {3}usage error/m);
  });

  for (const c of COMMANDS) {
    test(`${c} --help has examples and exit codes, and exits 0`, async () => {
      const r = await box.run([c, '--help'], wt);
      assert.equal(r.code, 0);
      assert.equal(r.stderr, '');
      assert.match(r.lines[0]!, new RegExp(`^Usage: git fsmond ${c}\\b`));
      assert.match(r.stdout, new RegExp(`^Examples:\\n {2}git (-C \\S+ )?fsmond ${c}`, 'm'));
      assert.match(r.stdout, /^Exit status:$/m);
    });
  }

  test("'help <command>' is the command's --help", async () => {
    const viaHelp = await box.run(['help', 'query'], wt);
    const viaFlag = await box.run(['query', '-h'], wt);
    assert.equal(viaHelp.code, 0);
    assert.equal(viaHelp.stdout, viaFlag.stdout);
  });

  test('--version prints the package version', async () => {
    const r = await box.run(['--version'], wt);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^\d+\.\d+\.\d+\n$/);
  });

  test('no command: the help on stderr, exit 2', async () => {
    const r = await box.run([], wt);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^Usage: git fsmond/);
  });

  const usageErrors: Array<[string, string[], RegExp]> = [
    ['unknown command', ['stats'], /unknown command 'stats' \(Did you mean status\?\)/],
    ['unknown option', ['status', '--jsn'], /unknown option '--jsn' \(Did you mean --json\?\)/],
    ['unknown global option', ['--bogus', 'status'], /unknown option '--bogus'/],
    ['missing argument', ['query'], /missing required argument 'token'/],
    ['too many arguments', ['status', 'extra'], /too many arguments for 'status'/],
    ['bad --timeout', ['stop', '--timeout', 'soon'], /argument 'soon' is invalid/],
    ['negative --timeout', ['stop', '--timeout', '-1'], /argument '-1' is invalid/],
    ['bad log -n', ['log', '-n', 'x'], /argument 'x' is invalid/],
    ['a request as a token', ['query', 'quit'], /'quit' is a request, not a token/],
  ];
  for (const [what, args, re] of usageErrors) {
    test(`${what}: one line, exit 2`, async () => {
      const r = await box.run(args, wt);
      assertOneLineError(r, 2, re);
      assert.equal(r.stdout, '');
    });
  }
});
