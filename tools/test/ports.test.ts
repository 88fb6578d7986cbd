/** freePort: ports the kernel does not hand out to others, skipping ones that are taken. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { test } from 'node:test';
import { freePort } from '../src/ports.js';

const listenOn = (port: number): Promise<Server> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });

test('hands out distinct bindable ports below the kernel ephemeral range', async () => {
  const ephemeralLow = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
  const ports: number[] = [];
  for (let i = 0; i < 50; i += 1) ports.push(await freePort());
  assert.equal(new Set(ports).size, 50, 'no port twice');
  for (const port of ports) assert.ok(port >= 1024 && port < ephemeralLow, `${port} is below ${ephemeralLow}`);
  const server = await listenOn(ports[0] as number);
  server.close();
});

test('skips a port that something already listens on', async () => {
  const taken = await freePort();
  // The next port in this process's walk is taken + 1 (or the start of the range after a wrap).
  const squatter = await listenOn(taken + 1);
  try {
    const port = await freePort();
    assert.notEqual(port, taken + 1);
    assert.ok(port > taken + 1 || port < taken, `moved past the taken port (got ${port})`);
  } finally {
    squatter.close();
  }
});
