/**
 * What one run of bench/run.ts found, and its tables: one per `git status` case (a row per
 * mode: median, p95, ratio to git's builtin daemon and to no monitor), the small repository
 * alike, and one for the daemons (a row per measure, a column per daemon, each beside its
 * baseline of the same run).
 */
import { fmtMB, fmtMs, fmtRatio, renderTable } from './measure.js';
import { type Mode, noneKey } from './modes.js';
import type { Monitor } from './monitor.js';

export interface StatusCell {
  median: number;
  p95: number;
  /** Its output equals that of the same status without fsmonitor. */
  agree: boolean;
}

export interface StatusCase {
  id: string;
  label: string;
  method: string;
  cells: Map<string, StatusCell>;
}

type Unit = 'ms' | 'bytes';

export interface DaemonCell {
  value: number;
  /** Its baseline (see DaemonMeasure.baseline), same run. */
  base?: number;
  /** Shown instead of the value (e.g. an answer that was `/`). */
  text?: string;
}

export interface DaemonMeasure {
  id: string;
  label: string;
  unit: Unit;
  baseline: string;
  cells: Map<string, DaemonCell>;
}

interface Target {
  limit: number;
  text: string;
}

/** The project's targets (README "Performance"), printed as information only. */
function targetFor(id: string, files: number): Target | null {
  const at100k = files === 100_000;
  const at1m = files === 1_000_000;
  switch (id) {
    case 'status.nochange':
      if (at100k) return { limit: 23, text: '<= 23 ms' };
      if (at1m) return { limit: 200, text: '<= 200 ms' };
      return null;
    case 'rss.start':
    case 'rss':
      return at1m ? { limit: 100e6, text: '<= 100 MB' } : null;
    case 'start':
      return at1m ? { limit: 6000, text: '<= 6 s' } : null;
    case 'churn':
    case 'churn.p95':
      return { limit: 5, text: '<= 5 ms' };
    default:
      return null;
  }
}

const judge = (t: Target | null, v: number) =>
  t ? `${t.text}: ${v <= t.limit ? 'pass' : 'FAIL'}` : '';

export class Results {
  readonly status: StatusCase[] = [];
  readonly daemon: DaemonMeasure[] = [];
  readonly details: string[] = [];
  readonly raw: Record<string, unknown> = {};

  daemonMeasure(id: string, label: string, unit: Unit, baseline: string): DaemonMeasure {
    let m = this.daemon.find((x) => x.id === id);
    if (!m) {
      m = { id, label, unit, baseline, cells: new Map() };
      this.daemon.push(m);
    }
    return m;
  }

  detail(line: string): void {
    this.details.push(line);
    console.log(`  ${line}`);
  }
}

/** One `git status` case: a row per mode. */
export function statusTable(c: StatusCase, modes: Mode[], files: number): string {
  const builtin = c.cells.get('builtin-ipc')?.median ?? Number.NaN;
  const target = targetFor(c.id, files);
  const rows: string[][] = [];
  for (const m of modes) {
    const cell = c.cells.get(m.key);
    if (!cell) continue;
    const none = c.cells.get(noneKey(m.git))?.median ?? Number.NaN;
    rows.push([
      m.name,
      fmtMs(cell.median),
      fmtMs(cell.p95),
      m.key === 'builtin-ipc' ? '' : fmtRatio(cell.median, builtin),
      m.key.startsWith('none-') ? '' : fmtRatio(cell.median, none),
      m.key.startsWith('none-') ? '' : signedMs(cell.median - none),
      cell.agree ? 'same' : 'DIFFERS',
      m.monitor?.key === 'fsmond' ? judge(target, cell.median) : '',
    ]);
  }
  const head = ['mode', 'median', 'p95', 'x builtin', 'x none', '- none', 'output', 'target'];
  return `${c.label} (${c.method})\n${renderTable(head, rows)}`;
}

const signedMs = (ms: number) =>
  Number.isFinite(ms) ? `${ms < 0 ? '-' : '+'}${Math.abs(ms).toFixed(2)} ms` : '';

const fmt = (unit: Unit, v: number) => (unit === 'ms' ? fmtMs(v) : fmtMB(v));

/** The daemons: a row per measure, value and ratio to its baseline per daemon. */
export function daemonTable(results: Results, monitors: Monitor[], files: number): string {
  const head = ['measure', 'baseline is'];
  for (const m of monitors) head.push(m.name, 'base', 'x base');
  head.push('target (git-fsmond)');
  const rows = results.daemon.map((m) => {
    const row = [m.label, m.baseline];
    for (const mon of monitors) {
      const c = m.cells.get(mon.key);
      if (!c) row.push('n/a', '', '');
      else {
        const base = c.base ?? Number.NaN;
        row.push(c.text ?? fmt(m.unit, c.value), fmt(m.unit, base), fmtRatio(c.value, base));
      }
    }
    const ours = m.cells.get('fsmond');
    row.push(ours && !ours.text ? judge(targetFor(m.id, files), ours.value) : '');
    return row;
  });
  return renderTable(head, rows);
}
