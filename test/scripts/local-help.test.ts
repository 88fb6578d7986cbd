/**
 * `node tools/dist/local.js --help` (and `help`, `-h`): the usage and every FERRY_LOCAL_* port on
 * stdout, exit 0; an unknown command still exits 2 naming it. Runs the real built script.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const LOCAL = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'tools', 'dist', 'local.js');

describe('local.js --help', () => {
  for (const arg of ['--help', '-h', 'help']) {
    it(`${arg} prints the usage and the ports, exit 0`, () => {
      const run = spawnSync(process.execPath, [LOCAL, arg], { encoding: 'utf8' });
      assert.equal(run.status, 0, run.stderr);
      assert.match(run.stdout, /usage: local\.js up/);
      for (const [name, port] of [['FERRY_LOCAL_INITIATOR_HTTP_PORT', 8080], ['FERRY_LOCAL_TERMINATOR_HTTP_PORT', 8081], ['FERRY_LOCAL_INITIATOR_TRIGGER_PORT', 8082], ['FERRY_LOCAL_SESSION_PORT', 8443]] as const) {
        assert.match(run.stdout, new RegExp(`${name}\\s+${port}\\b`));
      }
      assert.match(run.stdout, /FERRY_LOCAL_INITIATOR_TRIGGER_PORT\s+8082\s+POST \/trigger/);
    });
  }

  it('an unknown command exits 2 naming it', () => {
    const run = spawnSync(process.execPath, [LOCAL, 'bogus'], { encoding: 'utf8' });
    assert.equal(run.status, 2);
    assert.match(run.stderr, /unknown command bogus/);
  });
});
