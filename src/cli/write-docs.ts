/**
 * Build step: writes the man page and the completion scripts next to the compiled code,
 * generated from the CLI itself (npm installs the man page from package.json's "man").
 */
import fs from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from './common.js';
import { bashCompletion, manPage, zshCompletion } from './docs.js';
import { buildProgram, EXIT_CODES, version } from './main.js';

const out = (rel: string, text: string) => {
  const file = path.join(PACKAGE_ROOT, 'dist', rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
};
const program = buildProgram();
out('man/git-fsmond.1', manPage(program, version(), EXIT_CODES));
out('completion/git-fsmond.bash', bashCompletion(program));
out('completion/_git-fsmond', zshCompletion(program));
