/**
 * Decoding `struct inotify_event` records (docs/linux-watching.md#raw-inotify-from-node).
 *
 *   offset 0 wd i32 | 4 mask u32 | 8 cookie u32 | 12 len u32 | 16 name[len] (NUL-padded)
 *
 * Host byte order. A read from an inotify fd returns whole records only.
 */
import { endianness } from 'node:os';

export interface InotifyEvent {
  wd: number;
  mask: number;
  cookie: number;
  /**
   * The entry's name as a latin1 byte string, or null when `len` is 0: the event is about the
   * watched directory itself and there is no name to read (git 2.55's bug F read garbage here:
   * docs/protocol.md#bug-f).
   */
  name: string | null;
}

export const EVENT_HEADER = 16;

const LE = endianness() === 'LE';

export function parseEvents(buf: Buffer, length: number): InotifyEvent[] {
  const events: InotifyEvent[] = [];
  let o = 0;
  while (o < length) {
    if (o + EVENT_HEADER > length) throw new Error(`truncated inotify record at ${o}/${length}`);
    const wd = LE ? buf.readInt32LE(o) : buf.readInt32BE(o);
    const mask = LE ? buf.readUInt32LE(o + 4) : buf.readUInt32BE(o + 4);
    const cookie = LE ? buf.readUInt32LE(o + 8) : buf.readUInt32BE(o + 8);
    const len = LE ? buf.readUInt32LE(o + 12) : buf.readUInt32BE(o + 12);
    const start = o + EVENT_HEADER;
    if (start + len > length) throw new Error(`truncated inotify name at ${o}/${length}`);
    let name: string | null = null;
    if (len > 0) {
      const nul = buf.indexOf(0, start);
      const end = nul < 0 || nul > start + len ? start + len : nul;
      // An all-NUL name would be an empty path: treat it like "no name", never as "".
      if (end > start) name = buf.toString('latin1', start, end);
    }
    events.push({ wd, mask, cookie, name });
    o = start + len;
  }
  return events;
}
