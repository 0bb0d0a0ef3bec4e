import { LRUCache } from 'lru-cache';
import { TRIVIAL_REASON, type TrivialReason } from '../contract/index.js';
import { formatToken, neverValidToken, newEpochId, parseToken } from './token.js';

/**
 * One batch of changes. Batches are numbered; a token `<id>:<seq>` stands for the moment batch
 * `seq` was pinned, so the answer to it is the union of every batch numbered above `seq`.
 */
interface Batch {
  seq: number;
  /** The head's paths while it is written, deduplicated; null once pinned. */
  paths: Set<string> | null;
  /**
   * Once pinned, the same paths as `path\0`... bytes: about a byte a character instead of a
   * string and a set entry each (100k paths: ~4 MB instead of ~15 MB of heap).
   */
  bytes: Buffer | null;
  size: number;
  /** Once an answer named this batch, later changes must go to a new one. */
  pinned: boolean;
  /** Too many paths to keep: any answer that would include this batch must be `/`. */
  overflowed: boolean;
}

export interface JournalOptions {
  /** Upper bound on paths kept across all batches; older history is dropped beyond it. */
  maxRetainedPaths: number;
  /** Upper bound on the bytes of cached serialized answers. */
  cacheBytes: number;
}

export interface Answer {
  token: string;
  trivial: boolean;
  /** Why the answer is `/` (for logs and status), or null for an incremental answer. */
  reason: TrivialReason | null;
  /** The whole payload: `token\0` then `/\0` or `path\0`... */
  payload: Buffer;
  pathCount: number;
}

export interface JournalStats {
  epoch: string | null;
  headSeq: number;
  tailSeq: number;
  batches: number;
  retainedPaths: number;
  answers: number;
  trivialAnswers: number;
  cacheHits: number;
}

const NUL = '\0';

function emptyBatch(seq: number): Batch {
  return { seq, paths: new Set(), bytes: null, size: 0, pinned: false, overflowed: false };
}

/** No later path can join a pinned batch: keep it as the bytes an answer sends. */
function pin(batch: Batch): void {
  batch.pinned = true;
  if (!batch.paths) return;
  batch.bytes = batch.size > 0 ? Buffer.from([...batch.paths].join(NUL) + NUL, 'latin1') : null;
  batch.paths = null;
}

/** The paths of a pinned batch, back as strings (only to merge several batches). */
function pathsOf(batch: Batch): string[] {
  if (!batch.bytes) return [];
  return batch.bytes.toString('latin1', 0, batch.bytes.length - 1).split(NUL);
}

/** A path git must never see: empty (aborts git >= 2.45), absolute, or inside `.git/`. */
function isReportable(p: string): boolean {
  return p !== '' && p[0] !== '/' && p !== '.git' && !p.startsWith('.git/');
}

/**
 * The token-indexed change log. It only knows paths and tokens: the daemon decides when it is
 * ready (`startEpoch`) and when completeness is lost (`invalidate`).
 */
export class Journal {
  private epoch: string | null = null;
  /** Oldest first; the last one is the head. */
  private batches: Batch[] = [];
  /** A request `seq` can be answered only if every batch above it is still kept. */
  private tailSeq = 0;
  private retained = 0;
  private readonly cache: LRUCache<string, Answer>;
  private counters = { answers: 0, trivialAnswers: 0, cacheHits: 0 };

  constructor(private readonly opts: JournalOptions) {
    this.cache = new LRUCache<string, Answer>({
      maxSize: Math.max(1, opts.cacheBytes),
      sizeCalculation: (a) => Math.max(1, a.payload.length),
    });
  }

  get ready(): boolean {
    return this.epoch !== null;
  }

  /** Begins a new epoch: every earlier token becomes unanswerable. */
  startEpoch(): string {
    this.epoch = newEpochId();
    this.batches = [emptyBatch(0)];
    this.tailSeq = 0;
    this.retained = 0;
    this.cache.clear();
    return this.epoch;
  }

  /** Completeness is lost: answer `/` until the next `startEpoch`. */
  invalidate(): void {
    this.epoch = null;
    this.batches = [];
    this.retained = 0;
    this.cache.clear();
  }

  add(paths: readonly string[]): void {
    if (this.epoch === null || paths.length === 0) return;
    let head = this.head();
    if (head.pinned) {
      head = emptyBatch(head.seq + 1);
      this.batches.push(head);
    }
    const set = head.paths;
    if (head.overflowed || !set) return;
    for (const p of paths) if (isReportable(p)) set.add(p);
    this.retained += set.size - head.size;
    head.size = set.size;
    this.enforceBound(head);
  }

  /** Answers one request (a token, or anything else) and pins the head. */
  answer(request: string): Answer {
    if (this.epoch === null) return this.unvouchedAnswer(TRIVIAL_REASON.notWatching);
    const head = this.head();
    pin(head);
    const token = formatToken(this.epoch, head.seq);
    const parsed = parseToken(request);
    if (parsed === null) return this.trivial(token, TRIVIAL_REASON.notOurToken);
    if (parsed.id !== this.epoch) return this.trivial(token, TRIVIAL_REASON.otherEpoch);
    if (parsed.seq < this.tailSeq) return this.trivial(token, TRIVIAL_REASON.tooOld);
    if (parsed.seq > head.seq) return this.trivial(token, TRIVIAL_REASON.future);
    const key = `${parsed.seq}:${head.seq}`;
    const cached = this.cache.get(key);
    if (cached) {
      this.counters.cacheHits++;
      return this.count(cached);
    }
    const answer = this.incremental(token, parsed.seq);
    this.cache.set(key, answer);
    return this.count(answer);
  }

  /**
   * The current token for display (status). It pins the head, so the token names a real
   * moment: a client that later queries with it still gets every change made after it.
   */
  pinnedToken(): string | null {
    if (this.epoch === null) return null;
    const head = this.head();
    pin(head);
    return formatToken(this.epoch, head.seq);
  }

  /** A `/` answer that still carries a usable token when one exists (used on sync timeouts). */
  trivialAnswer(reason: TrivialReason): Answer {
    if (this.epoch === null) return this.unvouchedAnswer(reason);
    const head = this.head();
    pin(head);
    return this.trivial(formatToken(this.epoch, head.seq), reason);
  }

  /**
   * A `/` answer whose token no epoch accepts: for a client whose next query must get `/`
   * again, because what it records now (say, another worktree's stat data) cannot be vouched
   * for by any moment of ours.
   */
  unvouchedAnswer(reason: TrivialReason): Answer {
    return this.trivial(neverValidToken(), reason);
  }

  stats(): JournalStats {
    const head = this.batches.at(-1);
    return {
      epoch: this.epoch,
      headSeq: head?.seq ?? 0,
      tailSeq: this.tailSeq,
      batches: this.batches.length,
      retainedPaths: this.retained,
      ...this.counters,
    };
  }

  private head(): Batch {
    return this.batches[this.batches.length - 1]!;
  }

  /** Every batch above `sinceSeq` is pinned (the head was pinned first). */
  private incremental(token: string, sinceSeq: number): Answer {
    const since: Batch[] = [];
    for (let i = this.batches.length - 1; i >= 0 && this.batches[i]!.seq > sinceSeq; i--) {
      const b = this.batches[i]!;
      if (b.overflowed) return this.trivial(token, TRIVIAL_REASON.overflow);
      if (b.size > 0) since.push(b);
    }
    const head = Buffer.from(token + NUL, 'latin1');
    // One batch is sent as it is kept; several are merged so that a path is sent once.
    if (since.length <= 1) {
      const b = since[0];
      const payload = b?.bytes ? Buffer.concat([head, b.bytes]) : head;
      return { token, trivial: false, reason: null, payload, pathCount: b?.size ?? 0 };
    }
    const union = new Set<string>();
    for (const b of since) for (const p of pathsOf(b)) union.add(p);
    const body = Buffer.from([...union].join(NUL) + NUL, 'latin1');
    return {
      token,
      trivial: false,
      reason: null,
      payload: Buffer.concat([head, body]),
      pathCount: union.size,
    };
  }

  private trivial(token: string, reason: TrivialReason): Answer {
    return this.count({
      token,
      trivial: true,
      reason,
      payload: Buffer.from(`${token}${NUL}/${NUL}`, 'latin1'),
      pathCount: 0,
    });
  }

  private count(a: Answer): Answer {
    this.counters.answers++;
    if (a.trivial) this.counters.trivialAnswers++;
    return a;
  }

  /** Drops the oldest batches (never the head) until the retained paths fit the bound. */
  private enforceBound(head: Batch): void {
    const max = this.opts.maxRetainedPaths;
    while (this.retained > max && this.batches.length > 1) {
      const oldest = this.batches.shift()!;
      this.retained -= oldest.size;
      this.tailSeq = oldest.seq;
    }
    if (this.retained > max) {
      this.retained -= head.size;
      head.paths = new Set();
      head.size = 0;
      head.overflowed = true;
    }
  }
}
