/**
 * A start-up failure ends the process at once, non-zero, with its one line: an app left half
 * started (HTTP up, session port not) would pass its liveness probe and never be restarted.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { after, before, test } from 'node:test';
import { makeTestPki, type TestPki } from '../helpers/pki.js';
import { freePort } from '../helpers/ports.js';
import { startTerminator } from '../helpers/procs.js';

let pki: TestPki;
before(() => {
  pki = makeTestPki();
});
after(() => pki.cleanup());

function occupy(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

test('a terminator whose session port is taken exits non-zero at once with one FERRY_ERR_STARTUP line', async () => {
  const sessionPort = await freePort();
  const squatter = await occupy(sessionPort);
  const terminator = startTerminator({ pki, httpPort: await freePort(), sessionPort });
  try {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`still running after 5 s; lines:\n  ${terminator.lines.join('\n  ')}`)), 5_000);
    });
    const { code, signal } = await Promise.race([terminator.exited, deadline]).finally(() => clearTimeout(timer));
    assert.deepEqual({ code, signal }, { code: 1, signal: null });
    assert.equal(terminator.lines.length, 1, `one line only, got:\n  ${terminator.lines.join('\n  ')}`);
    assert.match(terminator.lines[0] ?? '', new RegExp(`^❌ terminator cannot start: \\[FERRY_ERR_STARTUP\\] listen EADDRINUSE: address already in use 127\\.0\\.0\\.1:${sessionPort}$`));
  } finally {
    await terminator.kill();
    await new Promise((resolve) => squatter.close(resolve));
  }
});
