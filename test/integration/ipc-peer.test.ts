import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { peerCredentials } from '../../src/ipc/index.js';
import { scratchDir } from '../helpers/scratch.js';

test('both ends of a Unix socket learn the other process from the kernel', async (t) => {
  if (process.platform !== 'linux') return t.skip('SO_PEERCRED is Linux only');
  const sock = path.join(scratchDir('fsmond-', t), 's');
  const seen = new Promise<ReturnType<typeof peerCredentials>>((resolve) => {
    const srv = net.createServer((c) => {
      resolve(peerCredentials(c));
      c.end();
      srv.close();
    });
    srv.listen(sock);
  });
  await new Promise((r) => setTimeout(r, 50));
  // A child process connects, so its pid differs from ours.
  const child = spawn(process.execPath, [
    '-e',
    `require('net').connect(${JSON.stringify(sock)}).on('close', () => process.exit(0))`,
  ]);
  const creds = await seen;
  assert.equal(creds?.pid, child.pid);
  assert.equal(creds?.uid, process.getuid?.());
  await new Promise((r) => child.on('exit', r));

  const srv = net.createServer((c) => c.end()).listen(`${sock}2`);
  await new Promise((r) => srv.once('listening', r));
  const client = net.connect(`${sock}2`);
  await new Promise((r) => client.once('connect', r));
  assert.equal(peerCredentials(client)?.pid, process.pid);
  client.destroy();
  srv.close();
});
