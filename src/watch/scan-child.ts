/**
 * The scan helper's process (scan-helper.ts starts it): it lists the directories the daemon
 * sends, which the daemon has watched already, and sends back their subdirectories. It holds
 * no watch and decides nothing: the daemon watches every subdirectory before it asks for that
 * one's listing, which keeps the order that makes a scan sound (watch, then list).
 *
 * stdin: the daemon's LIST messages; stdout: one `dir` message per directory, in any order
 * (scan-wire.ts). It exits when stdin closes.
 */
import { errCode } from './errors.js';
import { listDir } from './list-dir.js';
import { Fields, FROM_HELPER, LIST, WireReader, WireWriter } from './scan-wire.js';

/** Then stdin is read and results go out, so the daemon always has a batch to work on. */
const SLICE_MS = 5;

const DOT_GIT = '.git';

interface Item {
  wd: number;
  ticket: number;
  path: string;
}

class Lister {
  private readonly stack: Item[] = [];
  private readonly out = new WireWriter();
  private readonly reader = new WireReader();
  private scheduled = false;

  onInput(chunk: Buffer): void {
    this.reader.push(chunk);
    const r = this.reader;
    while (r.next()) {
      if (r.kind !== LIST) throw new Error(`unknown message kind ${r.kind}`);
      const f = new Fields(r.bytes, r.from, r.to);
      while (!f.done) this.stack.push({ wd: f.i32(), ticket: f.u32(), path: f.str(2) });
    }
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.run());
  }

  private run(): void {
    this.scheduled = false;
    const until = performance.now() + SLICE_MS;
    for (let item = this.stack.pop(); item; item = this.stack.pop()) {
      this.list(item);
      if (performance.now() >= until) break;
    }
    if (this.out.size > 0) process.stdout.write(this.out.take());
    if (this.stack.length > 0 && !this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.run());
    }
  }

  private list(item: Item): void {
    const out = this.out.begin(FROM_HELPER.dir).i32(item.wd).u32(item.ticket);
    let dirs: string[];
    try {
      dirs = listDir(item.path, false).dirs;
    } catch (err) {
      out.str(errCode(err) ?? 'EIO', 1).end();
      return;
    }
    out.str('', 1);
    for (const name of dirs) {
      if (name === DOT_GIT) continue;
      const path = `${item.path}/${name}`;
      out.u16(name.length).str(path, 2);
    }
    out.end();
  }
}

const lister = new Lister();
process.stdin.on('data', (chunk: Buffer) => lister.onInput(chunk));
process.stdin.on('end', () => process.exit(0));
process.stdout.write(new WireWriter().begin(FROM_HELPER.ready).end().take());
