/**
 * Child process of the churn measure: rewrites one file every `intervalMs` until killed.
 *
 *   node dist/bench/churn.js <file> <intervalMs>
 *
 * Writes the file's original content back each time (truncate + write: IN_MODIFY events), so
 * the tree's content never changes. Prints `ready` once the first write is done.
 */
import fs from 'node:fs';

const [file, interval] = process.argv.slice(2);
if (!file) throw new Error('usage: churn.js <file> <intervalMs>');
const content = fs.readFileSync(file);
let writes = 0;
const write = () => {
  fs.writeFileSync(file, content);
  writes++;
};
write();
process.stdout.write('ready\n');
setInterval(write, Number(interval ?? 20));
process.on('SIGTERM', () => {
  process.stdout.write(`writes ${writes}\n`);
  process.exit(0);
});
