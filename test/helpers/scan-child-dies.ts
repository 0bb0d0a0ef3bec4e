/**
 * A scan helper that dies part-way (for test/integration/watch-inotify-helper*.test.ts): the
 * real helper, except that its write number FSMOND_TEST_HELPER_DIE_AFTER + 1 (default 3)
 * goes out only half, a message cut in the middle, and the process exits with code 3.
 */
const after = Number(process.env.FSMOND_TEST_HELPER_DIE_AFTER ?? 2);
let writes = 0;
const write = process.stdout.write.bind(process.stdout);
process.stdout.write = ((chunk: Buffer) => {
  if (++writes <= after) return write(chunk);
  write(chunk.subarray(0, Math.max(1, chunk.length >> 1)), () => process.exit(3));
  return true;
}) as typeof process.stdout.write;
await import('../../src/watch/scan-child.js');
