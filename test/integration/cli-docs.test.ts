/** The man page and the completions come from the CLI itself: every command and option is there. */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { PACKAGE_ROOT } from '../../src/cli/common.js';
import { buildProgram } from '../../src/cli/main.js';
import { CliSandbox } from '../helpers/cli-sandbox.js';

const MAN = path.join(PACKAGE_ROOT, 'dist', 'man', 'git-fsmond.1');
const program = buildProgram();
const commands = program.createHelp().visibleCommands(program);

describe('man page and completions', () => {
  const box = CliSandbox.forSuite();
  let wt: string;
  before(() => {
    wt = box.repo('wt');
  });

  test("'git fsmond --help' opens the man page, which names every command and option", (t) => {
    if (spawnSync('man', ['--version']).status !== 0) return t.skip('man is not installed');
    // Laid out as npm does for a global install: <prefix>/share/man/man1/git-fsmond.1
    const manDir = path.join(box.root, 'share', 'man', 'man1');
    fs.mkdirSync(manDir, { recursive: true });
    fs.copyFileSync(MAN, path.join(manDir, 'git-fsmond.1'));
    const text = execFileSync('git', ['fsmond', '--help'], {
      cwd: wt,
      encoding: 'utf8',
      env: {
        ...box.env,
        PATH: `${path.join(PACKAGE_ROOT, 'bin')}:${process.env.PATH}`,
        MANPATH: path.join(box.root, 'share', 'man'),
        MANPAGER: 'cat',
        MANWIDTH: '200',
        GIT_PAGER: 'cat',
      },
    }).replace(/.\x08/g, ''); // man's overstrike bold
    assert.match(text, /^NAME\n\s+git-fsmond - /m);
    for (const cmd of commands) {
      assert.match(text, new RegExp(`^\\s+${cmd.name()}\\b`, 'm'), cmd.name());
      for (const opt of cmd.options) {
        if (opt.long) assert.ok(text.includes(opt.long), `${cmd.name()} ${opt.long}`);
      }
    }
    assert.match(text, /^EXIT STATUS/m);
  });

  test('bash completes command names and each command’s options', async () => {
    const script = (await box.run(['completion', 'bash'], wt)).stdout;
    const complete = (...words: string[]) =>
      execFileSync(
        'bash',
        [
          '-c',
          `${script}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _git_fsmond; echo "\${COMPREPLY[*]}"`,
        ],
        { encoding: 'utf8' },
      ).trim();
    assert.deepEqual(complete('git-fsmond', 'st').split(' ').sort(), ['start', 'status', 'stop']);
    assert.deepEqual(complete('git', 'fsmond', 'st').split(' ').sort(), [
      'start',
      'status',
      'stop',
    ]);
    assert.equal(complete('git-fsmond', '-C', 'dir', 'stop', '--t'), '--timeout');
    assert.deepEqual(complete('git-fsmond', 'log', '-').split(' ').sort(), [
      '--follow',
      '--help',
      '--lines',
      '-f',
      '-h',
      '-n',
    ]);
  });

  test('the zsh completion is valid zsh and lists every command', async (t) => {
    const r = await box.run(['completion', 'zsh'], wt);
    for (const cmd of commands) assert.match(r.stdout, new RegExp(`'${cmd.name()}:`), cmd.name());
    if (spawnSync('zsh', ['--version']).status !== 0) return t.skip('zsh is not installed');
    const file = path.join(box.root, '_git-fsmond');
    fs.writeFileSync(file, r.stdout);
    assert.equal(spawnSync('zsh', ['-n', file]).status, 0);
  });

  test('an unknown shell is a usage error', async () => {
    const r = await box.run(['completion', 'fish'], wt);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^git-fsmond: no completion for 'fish': use bash or zsh\n$/);
  });
});
