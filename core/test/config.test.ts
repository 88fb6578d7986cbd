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

  test('a misspelled key in the file is refused, naming the key and the nearest known one', () => {
    const path = file('session:\n  pingIntervalMS: 1000\n');
    assert.match(message(() => loadConfig({ env: { FERRY_CONFIG_FILE: path } })), /invalid config session\.pingIntervalMS=1000: expected one of the known keys \(did you mean session\.pingIntervalMs\?/);
    const section = file('sesion:\n  pingIntervalMs: 1000\n');
    assert.match(message(() => loadConfig({ env: { FERRY_CONFIG_FILE: section } })), /sesion\.pingIntervalMs=1000: expected one of the known keys \(did you mean session\.pingIntervalMs\?/);
  });

  test('integers are plain decimal digits: hex, exponents and blanks are refused, in env and in the file', () => {
    for (const bad of ['0x1f4', '1.5e3', ' 500 ', '500 ', '+500', '5_00', '500.0', '0o764', '']) {
      if (bad === '') continue; // empty env means unset
      assert.equal(
        message(() => loadConfig({ env: { FERRY_SESSION_PING_INTERVAL_MS: bad } })),
        `invalid config FERRY_SESSION_PING_INTERVAL_MS=${JSON.stringify(bad)}: expected an integer from 100 to 86400000`,
      );
    }
    for (const bad of ['0x1f4', '1.5e3', '.inf', '0o764']) {
      assert.match(message(() => loadConfig({ env: { FERRY_CONFIG_FILE: file(`session:\n  pingIntervalMs: ${bad}\n`) } })), /session\.pingIntervalMs \(in .*\)=.*: expected an integer from 100 to 86400000/, bad);
    }
    assert.equal(loadConfig({ env: { FERRY_SESSION_PING_INTERVAL_MS: '500' } }).session.pingIntervalMs, 500);
    assert.equal(loadConfig({ env: { FERRY_CONFIG_FILE: file('session:\n  pingIntervalMs: 500\n') } }).session.pingIntervalMs, 500);
    assert.equal(loadConfig({ env: { FERRY_CONFIG_FILE: file("session:\n  pingIntervalMs: '700'\n") } }).session.pingIntervalMs, 700);
    assert.match(message(() => loadConfig({ env: { FERRY_RECONNECT_MAX_RETRIES: '-1' } })), /FERRY_RECONNECT_MAX_RETRIES="-1": expected an integer from 0 to/);
  });

  test('numbers are plain decimals too', () => {
    assert.equal(loadConfig({ env: { FERRY_RECONNECT_GROWTH: '1.5' } }).reconnect.growth, 1.5);
    assert.equal(loadConfig({ env: { FERRY_CONFIG_FILE: file('reconnect:\n  growth: 1.5\n') } }).reconnect.growth, 1.5);
    assert.match(message(() => loadConfig({ env: { FERRY_RECONNECT_GROWTH: '15e-1' } })), /FERRY_RECONNECT_GROWTH="15e-1": expected a number from 1 to 10/);
  });

  test('a session.url a dial cannot use is refused at load: port, host, shape', () => {
    const cases: Array<[string, RegExp]> = [
      ['wss://localhost:99999', /its port 99999 is outside 1-65535/],
      ['wss://localhost:0', /its port 0 is outside 1-65535/],
      ['wss://localhost:', /its port "" is not a number/],
      ['wss://:8443', /its host "" is not usable: it is empty/],
      ['wss://999.1.1.1:8443', /its host "999\.1\.1\.1" is not usable: it looks like an IPv4 address but is not one/],
      ['wss://[::g]:8443', /its host \[::g\] is not an IPv6 address/],
      ['wss://user:pw@terminator:8443', /carries credentials/],
    ];
    for (const [url, problem] of cases) {
      const msg = message(() => loadConfig({ env: { FERRY_SESSION_URL: url } }));
      assert.ok(msg.startsWith(`invalid config FERRY_SESSION_URL=${JSON.stringify(url)}: expected a wss:// URL with a host and a port from 1 to 65535`), msg);
      assert.match(msg, problem);
    }
    for (const good of ['wss://127.0.0.1:8443', 'wss://[::1]:8443/path', 'wss://terminator', 'wss://terminator.ns.svc.cluster.local:65535']) {
      assert.equal(loadConfig({ env: { FERRY_SESSION_URL: good } }).session.url, good);
    }
  });

  test('host values are an IPv4 address, an IPv6 address or a DNS name, refused by key otherwise', () => {
    assert.equal(
      message(() => loadConfig({ env: { FERRY_HTTP_HOST: '999.1.1.1' } })),
      'invalid config FERRY_HTTP_HOST="999.1.1.1": expected an IPv4 address (0.0.0.0), an IPv6 address without brackets (::), or a DNS name; here it looks like an IPv4 address but is not one (four parts, each 0-255)',
    );
    assert.match(message(() => loadConfig({ env: { FERRY_SESSION_LISTEN_HOST: '[::1]' } })), /FERRY_SESSION_LISTEN_HOST="\[::1\]": .*without brackets/);
    assert.match(message(() => loadConfig({ env: { FERRY_SESSION_LISTEN_HOST: 'bad host' } })), /FERRY_SESSION_LISTEN_HOST="bad host": .*"bad host" is not a DNS label/);
    assert.match(message(() => loadConfig({ env: { FERRY_CONFIG_FILE: file("http:\n  host: ''\n") } })), /http\.host \(in .*\)="": .*it is empty/);
    assert.match(message(() => loadConfig({ env: { FERRY_SESSION_SERVER_NAME: '1.2.3.999' } })), /FERRY_SESSION_SERVER_NAME="1\.2\.3\.999"/);
    for (const good of ['127.0.0.1', '::', '::1', 'fe80::1', 'localhost', 'terminator.fast-ferry-terminator-ns.svc.', 'host-1.example']) {
      assert.equal(loadConfig({ env: { FERRY_HTTP_HOST: good } }).http.host, good);
    }
    assert.equal(loadConfig({ env: {} }).session.serverName, '', 'empty serverName still means the host of session.url');
  });

  test('an unknown FERRY_* variable is refused, naming the nearest known one', () => {
    assert.equal(
      message(() => loadConfig({ env: { FERRY_SESSION_PING_INTERVAL: '50' } })),
      'invalid config FERRY_SESSION_PING_INTERVAL="50": expected a known FERRY_* setting, as FERRY_* names are reserved for them (did you mean FERRY_SESSION_PING_INTERVAL_MS? see the README config table)',
    );
    assert.match(message(() => loadConfig({ env: { FERRY_CONFIG: '/etc/x.yaml' } })), /did you mean FERRY_CONFIG_FILE\?/);
    assert.match(message(() => loadConfig({ env: { FERRY_SOMETHING_ELSE_ENTIRELY: '1' } })), /expected a known FERRY_\* setting, as FERRY_\* names are reserved for them \(see the README/);
  });

  test('the FERRY_* variables of deploy.sh, the local runner and the test fixtures are not keys and pass', () => {
    const env = {
      FERRY_CLUSTER: 'ferry', FERRY_RELEASE: 'fast-ferry', FERRY_NODE_IMAGE: 'node:20', FERRY_INITIATOR_IMAGE: 'i', FERRY_TERMINATOR_IMAGE: 't',
      FERRY_STATE_DIR: '.ferry', FERRY_LOCAL_INITIATOR_HTTP_PORT: '8080', FERRY_LOCAL_TERMINATOR_HTTP_PORT: '8081', FERRY_LOCAL_SESSION_PORT: '8443',
      FERRY_TEST_DELIVERY_FILE: '/tmp/x', FERRY_UNSET_BUT_EMPTY: '',
    };
    assert.doesNotThrow(() => loadConfig({ env }));
  });

  test('Kubernetes service-link variables of a Service named ferry-… pass; a lookalike without its _SERVICE_HOST does not', () => {
    const links = {
      FERRY_METRICS_SERVICE_HOST: '10.43.0.7', FERRY_METRICS_SERVICE_PORT: '9090', FERRY_METRICS_SERVICE_PORT_HTTP: '9090',
      FERRY_METRICS_PORT: 'tcp://10.43.0.7:9090', FERRY_METRICS_PORT_9090_TCP: 'tcp://10.43.0.7:9090',
      FERRY_METRICS_PORT_9090_TCP_PROTO: 'tcp', FERRY_METRICS_PORT_9090_TCP_PORT: '9090', FERRY_METRICS_PORT_9090_TCP_ADDR: '10.43.0.7',
    };
    assert.doesNotThrow(() => loadConfig({ env: links }));
    assert.match(message(() => loadConfig({ env: { FERRY_METRICS_PORT: 'tcp://10.43.0.7:9090' } })), /invalid config FERRY_METRICS_PORT=/);
    assert.match(message(() => loadConfig({ env: { FERRY_SESSION_PORT: '8443' } })), /invalid config FERRY_SESSION_PORT="8443": expected a known FERRY_\* setting/);
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
