const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A path or token for a terminal: UTF-8 as is, control characters and stray bytes escaped. */
function escapeField(field: Buffer): string {
  let text: string;
  try {
    text = utf8.decode(field);
  } catch {
    text = field.toString('latin1').replace(/[\x80-\xff]/g, (c) => hex(c.charCodeAt(0)));
  }
  return text.replace(/[\\\x00-\x1f\x7f]/g, (c) => {
    if (c === '\\') return '\\\\';
    if (c === '\n') return '\\n';
    if (c === '\t') return '\\t';
    return hex(c.charCodeAt(0));
  });
}

const hex = (n: number) => `\\x${n.toString(16).padStart(2, '0')}`;

/**
 * A daemon answer (`token\0path\0...`) one NUL-terminated field per line, each NUL shown as
 * `\0`: readable, and a name with a newline in it cannot pass for two paths.
 */
export function readableAnswer(answer: Buffer): string[] {
  const lines: string[] = [];
  let start = 0;
  for (let i = answer.indexOf(0); i >= 0; i = answer.indexOf(0, start)) {
    lines.push(`${escapeField(answer.subarray(start, i))}\\0`);
    start = i + 1;
  }
  if (start < answer.length) lines.push(escapeField(answer.subarray(start)));
  return lines;
}

export function duration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86400)
    return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d${String(Math.floor(s / 3600) % 24).padStart(2, '0')}h`;
}

export function megabytes(bytes: number): string {
  return `${(bytes / (1 << 20)).toFixed(1)} MiB`;
}
