import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { loadConfig } from '../src/config/load.js';
import { CONFIG_SCHEMA, envNameOf } from '../src/config/schema.js';
import { ConfigError } from '../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'ferry-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(text: string): string {
  const path = join(dir, `c${Math.random().toString(16).slice(2)}.yaml`);
  writeFileSync(path, text);
  return path;
}

function message(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.message;
  }
  return 'no error';
}

describe('runtime configuration', () => {
  test('defaults work out of the box and match the documented ones', () => {
    const c = loadConfig({ env: {} });
    assert.equal(c.session.url, 'wss://terminator.fast-ferry-terminator-ns.svc:8443');
    assert.equal(c.session.pingIntervalMs, 30_000);
    assert.equal(c.session.dialTimeoutMs, 20_000);
    assert.deepEqual(c.reconnect, { intervalMs: 500, growth: 2, maxDelayMs: 30_000, maxRetries: 0 });
    assert.equal(c.hooks.timeoutMs, 10_000);
    assert.equal(c.autoTrigger.count, 5);
    assert.equal(c.armor.mode, 'tunnel');
  });

  test('env names are derived from the keys', () => {
    assert.equal(envNameOf('session.pingIntervalMs'), 'FERRY_SESSION_PING_INTERVAL_MS');
    assert.equal(envNameOf('autoTrigger.count'), 'FERRY_AUTO_TRIGGER_COUNT');
    assert.equal(envNameOf('tls.caFile'), 'FERRY_TLS_CA_FILE');
  });

  test('the YAML file overrides defaults and env overrides the file', () => {
    const path = file('session:\n  pingIntervalMs: 1000\nautoTrigger:\n  count: 9\n');
    const c = loadConfig({ env: { FERRY_CONFIG_FILE: path, FERRY_AUTO_TRIGGER_COUNT: '3' } });
    assert.equal(c.session.pingIntervalMs, 1000);
    assert.equal(c.autoTrigger.count, 3);
  });

  test('LOG_FORMAT=json selects JSON logs', () => {
    assert.equal(loadConfig({ env: { LOG_FORMAT: 'json' } }).log.format, 'json');
  });

  test('the result is frozen', () => {
    const c = loadConfig({ env: {} });
    assert.throws(() => {
      (c.session as { pingIntervalMs: number }).pingIntervalMs = 1;
    }, TypeError);
  });

  test('a non-number names the env variable, the value and the range', () => {
    assert.equal(
      message(() => loadConfig({ env: { FERRY_SESSION_PING_INTERVAL_MS: 'fast' } })),
      'invalid config FERRY_SESSION_PING_INTERVAL_MS="fast": expected an integer from 100 to 86400000',
    );
  });

  test('an out-of-range number is refused', () => {
    assert.match(message(() => loadConfig({ env: { FERRY_RECONNECT_GROWTH: '0.5' } })), /FERRY_RECONNECT_GROWTH="0.5": expected a number from 1 to 10/);
  });

  test('a bad enum lists the allowed values', () => {
    assert.match(message(() => loadConfig({ env: { FERRY_ARMOR_MODE: 'none' } })), /expected one of tunnel, tls/);
  });

  test('a session.url that is not wss:// is refused with an example', () => {
    assert.match(message(() => loadConfig({ env: { FERRY_SESSION_URL: 'ws://terminator:8443' } })), /expected a wss:\/\/ URL such as wss:\/\/terminator/);
  });

  test('a misspelled key in the file is refused, naming the key and the file', () => {
    const path = file('session:\n  pingIntervalMS: 1000\n');
    assert.match(message(() => loadConfig({ env: { FERRY_CONFIG_FILE: path } })), /invalid config session\.pingIntervalMS=1000: expected one of the known keys/);
  });

  test('a value of the wrong type in the file names the file', () => {
    const path = file('autoTrigger:\n  count: five\n');
    assert.match(message(() => loadConfig({ env: { FERRY_CONFIG_FILE: path } })), new RegExp(`autoTrigger\\.count \\(in ${path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\)="five"`));
  });

  test('a file that is not YAML, or not a mapping, is refused', () => {
    assert.match(message(() => loadConfig({ env: { FERRY_CONFIG_FILE: file('a: [unclosed') } })), /expected valid YAML/);
    assert.match(message(() => loadConfig({ env: { FERRY_CONFIG_FILE: file('- 1\n- 2\n') } })), /expected a YAML mapping/);
  });

  test('a missing config file is refused with its error code', () => {
    assert.match(message(() => loadConfig({ env: { FERRY_CONFIG_FILE: join(dir, 'absent.yaml') } })), /expected a readable YAML file \(ENOENT\)/);
  });

  test('every key has a default that passes its own validation', () => {
    for (const [key, leaf] of Object.entries(CONFIG_SCHEMA)) {
      assert.doesNotThrow(() => loadConfig({ env: {}, overrides: { [key]: leaf.default } }), key);
    }
  });
});
