import type { ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';

export interface ChildOutput {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** What a child with piped stdout and stderr printed, once it closed; rejects if it never ran. */
export function outputOf(
  child: ChildProcess & { stdout: Readable; stderr: Readable },
): Promise<ChildOutput> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
