/** `log [-f]`: the daemon log, `<gitdir>/fsmond/daemon.log`, rotated to `daemon.log.1`. */
import fs from 'node:fs';
import { type Command, InvalidArgumentError } from 'commander';
import { action, CliError, examples, repoOf } from './common.js';
import { logPathFor } from './control.js';

const POLL_MS = 200;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function readIfAny(file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return Buffer.alloc(0);
    throw new CliError(`cannot read '${file}': ${(err as Error).message}`);
  }
}

function lastLines(buf: Buffer, n: number | undefined): Buffer {
  if (n === undefined) return buf;
  let end = buf.length;
  if (end > 0 && buf[end - 1] === 0x0a) end--;
  let start = end;
  for (let seen = 0; start > 0; start--) {
    if (buf[start - 1] === 0x0a && ++seen === n) break;
  }
  return n === 0 ? Buffer.alloc(0) : buf.subarray(start);
}

function readAll(fd: number): Buffer {
  const chunks: Buffer[] = [];
  const chunk = Buffer.alloc(64 * 1024);
  for (let pos = 0; ; ) {
    const n = fs.readSync(fd, chunk, 0, chunk.length, pos);
    if (n === 0) return Buffer.concat(chunks);
    chunks.push(Buffer.from(chunk.subarray(0, n)));
    pos += n;
  }
}

function drain(fd: number, pos: number): number {
  const chunk = Buffer.alloc(64 * 1024);
  for (;;) {
    const n = fs.readSync(fd, chunk, 0, chunk.length, pos);
    if (n === 0) return pos;
    process.stdout.write(Buffer.from(chunk.subarray(0, n)));
    pos += n;
  }
}

const statOf = (file: string) => {
  try {
    return fs.statSync(file);
  } catch {
    return null;
  }
};

function openIfAny(file: string): number | null {
  try {
    return fs.openSync(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new CliError(`cannot read '${file}': ${(err as Error).message}`);
  }
}

/**
 * Follows `file` across rotations (renamed away, a new one created) and truncation, like
 * `tail -F`, from `pos` in the already open `fd` (null: it does not exist yet). Never
 * returns: the user interrupts it.
 */
async function follow(file: string, fd: number | null, pos: number): Promise<never> {
  let ino = fd === null ? null : fs.fstatSync(fd).ino;
  for (;;) {
    // Stat first: whatever reached the old file before a rename is drained below.
    const st = statOf(file);
    if (fd !== null) {
      pos = drain(fd, pos);
      if (!st || st.ino !== ino) {
        fs.closeSync(fd);
        fd = null;
      } else if (fs.fstatSync(fd).size < pos) {
        // Truncated. The open file's own size, not `st`: that may predate what was just read.
        pos = 0;
      }
    }
    if (fd === null && st) {
      fd = openIfAny(file);
      ino = fd === null ? null : fs.fstatSync(fd).ino;
      pos = 0;
      continue;
    }
    await sleep(POLL_MS);
  }
}

function lineCount(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('Expected a whole number.');
  return n;
}

export function addLogCommand(program: Command): void {
  program
    .command('log')
    .summary("print the daemon's log")
    .description(
      "Print this worktree's daemon log, <gitdir>/fsmond/daemon.log, after the rotated " +
        'daemon.log.1 (the log is rotated beyond fsmond.logMaxBytes). With -f, keep printing what ' +
        'is appended, across rotations, until interrupted; the log need not exist yet then. ' +
        'Fails when there is no log (no daemon ever ran here).',
    )
    .option('-f, --follow', 'keep printing new lines')
    .option('-n, --lines <count>', 'only the last <count> lines', lineCount)
    .addHelpText(
      'after',
      examples(
        'git fsmond log',
        'git fsmond log -n 50',
        'git fsmond log -f',
        'git fsmond log | grep warn',
      ),
    )
    .action(
      action(async (opts: { follow?: boolean; lines?: number }, cmd: Command) => {
        const file = logPathFor(await repoOf(cmd));
        // The open file is what -f goes on reading: a rotation meanwhile loses nothing.
        const fd = openIfAny(file);
        const current = fd === null ? Buffer.alloc(0) : readAll(fd);
        const older = readIfAny(`${file}.1`);
        if (!opts.follow && fd === null && older.length === 0) {
          throw new CliError(`no daemon log at '${file}': no daemon has run here yet`);
        }
        process.stdout.write(lastLines(Buffer.concat([older, current]), opts.lines));
        if (opts.follow) await follow(file, fd, current.length);
        if (fd !== null) fs.closeSync(fd);
        return 0;
      }),
    );
}
