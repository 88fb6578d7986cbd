/**
 * Adversarial (issue 15 §2), the careless operator: configuration and certificates that cannot
 * work. Each starts the shipped app as a real process and expects it to stop before any socket
 * opens (its HTTP port never answers), quickly, with exit code 78 and one line naming the key
 * or file, the value and the expected form. Before these checks, each of them started and
 * then failed forever (a URL that never dials), silently ignored a setting, read 0x1f4 as 500,
 * or ran with the CA (or the other role's) certificate as its own. A legitimate pair runs
 * alongside and keeps delivering.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeTestPki, type TestPki } from '../helpers/pki.js';
import { freePort } from '../helpers/ports.js';
import { REPO_ROOT, get, post, exitsWithin, startPair, startProcess, type Pair, type Proc } from '../helpers/procs.js';

const APPS = {
  initiator: join(REPO_ROOT, 'initiator', 'app', 'dist', 'app.js'),
  terminator: join(REPO_ROOT, 'terminator', 'app', 'dist', 'app.js'),
} as const;
type Role = keyof typeof APPS;

/** A refusal at load takes a Node start-up; a process still up after this is running with the bad value. */
const EXIT_WITHIN_MS = 10_000;

let pki: TestPki;
let pair: Pair;

before(async () => {
  pki = makeTestPki();
  pair = await startPair(pki);
});

after(async () => {
  await pair?.stop();
  pki?.cleanup();
});

/**
 * Starts `role` with the bundle's own certificates, loopback ports and `env` on top; resolves
 * with its exit code and lines once it exits, failing (and killing it) if it is still up after
 * EXIT_WITHIN_MS. Afterwards its HTTP port must never have opened.
 */
async function refusedAtStart(role: Role, env: Record<string, string>): Promise<{ code: number | null; lines: string[] }> {
  const http = await freePort();
  const own = role === 'initiator' ? pki.initiator : pki.terminator;
  const proc: Proc = startProcess(role, [APPS[role]], {
    FERRY_HTTP_HOST: '127.0.0.1',
    FERRY_HTTP_PORT: String(http),
    FERRY_HTTP_TRIGGER_PORT: String(await freePort()),
    FERRY_SESSION_LISTEN_HOST: '127.0.0.1',
    FERRY_SESSION_LISTEN_PORT: String(await freePort()),
    FERRY_TLS_CA_FILE: pki.ca.cert,
    FERRY_TLS_CERT_FILE: own.cert,
    FERRY_TLS_KEY_FILE: own.key,
    FERRY_AUTO_TRIGGER_COUNT: '0',
    ...env,
  });
  const code = await exitsWithin(proc, EXIT_WITHIN_MS, JSON.stringify(env));
  await assert.rejects(fetch(`http://127.0.0.1:${http}/healthz`), 'the HTTP port was never opened');
  return { code, lines: proc.lines };
}

/** The one line a refused start prints: `❌ <role> cannot start: [<code>] <message>`. */
function assertOneLine(role: Role, result: { code: number | null; lines: string[] }, errorCode: string, expected: RegExp): void {
  assert.equal(result.code, 78, result.lines.join('\n'));
  assert.equal(result.lines.length, 1, result.lines.join('\n'));
  const line = result.lines[0] ?? '';
  assert.ok(line.startsWith(`❌ ${role} cannot start: [${errorCode}] `), line);
  assert.match(line, expected);
}

describe('values that cannot work stop the app at start-up (exit 78, one line naming the key)', () => {
  test('a session URL with port 99999 (it used to start and fail every dial forever)', async () => {
    assertOneLine('initiator', await refusedAtStart('initiator', { FERRY_SESSION_URL: 'wss://localhost:99999' }), 'FERRY_ERR_CONFIG',
      /invalid config FERRY_SESSION_URL="wss:\/\/localhost:99999": expected a wss:\/\/ URL with a host and a port from 1 to 65535, .*; here its port 99999 is outside 1-65535$/);
  });

  test('a session URL whose host is a bad IPv4 address', async () => {
    assertOneLine('initiator', await refusedAtStart('initiator', { FERRY_SESSION_URL: 'wss://999.1.1.1:8443' }), 'FERRY_ERR_CONFIG',
      /invalid config FERRY_SESSION_URL="wss:\/\/999\.1\.1\.1:8443": .*its host "999\.1\.1\.1" is not usable/);
  });

  for (const [role, name] of [['initiator', 'FERRY_HTTP_HOST'], ['terminator', 'FERRY_HTTP_HOST'], ['terminator', 'FERRY_SESSION_LISTEN_HOST']] as const) {
    test(`${name}=999.1.1.1 on the ${role} is refused by its name`, async () => {
      assertOneLine(role, await refusedAtStart(role, { [name]: '999.1.1.1' }), 'FERRY_ERR_CONFIG',
        new RegExp(`invalid config ${name}="999\\.1\\.1\\.1": expected an IPv4 address \\(0\\.0\\.0\\.0\\), an IPv6 address without brackets \\(::\\), or a DNS name`));
    });
  }

  for (const role of ['initiator', 'terminator'] as const) {
    test(`a misspelled FERRY_SESSION_PING_INTERVAL on the ${role} is refused, naming FERRY_SESSION_PING_INTERVAL_MS`, async () => {
      assertOneLine(role, await refusedAtStart(role, { FERRY_SESSION_PING_INTERVAL: '50' }), 'FERRY_ERR_CONFIG',
        /invalid config FERRY_SESSION_PING_INTERVAL="50": expected a known FERRY_\* setting, .*did you mean FERRY_SESSION_PING_INTERVAL_MS\?/);
    });
  }

  for (const value of ['0x1f4', '1.5e3', ' 500 ']) {
    test(`the integer ${JSON.stringify(value)} in env is refused`, async () => {
      assertOneLine('initiator', await refusedAtStart('initiator', { FERRY_SESSION_PING_INTERVAL_MS: value }), 'FERRY_ERR_CONFIG',
        new RegExp(`invalid config FERRY_SESSION_PING_INTERVAL_MS=${JSON.stringify(value).replace(/\./g, '\\.')}: expected an integer from 100 to 86400000$`));
    });
  }

  test('the integer 0x1f4 in the mounted config file is refused, naming the file', async () => {
    const file = join(pki.dir, 'hex.yaml');
    writeFileSync(file, 'session:\n  listenPort: 0x1f4\n');
    assertOneLine('terminator', await refusedAtStart('terminator', { FERRY_CONFIG_FILE: file, FERRY_SESSION_LISTEN_PORT: '' }), 'FERRY_ERR_CONFIG',
      /invalid config session\.listenPort \(in .*hex\.yaml\)="0x1f4": expected an integer from 1 to 65535$/);
  });
});

describe('certificates that cannot serve the role stop the app at start-up (exit 78, naming the file)', () => {
  for (const role of ['initiator', 'terminator'] as const) {
    test(`the CA certificate and key as the ${role}'s own`, async () => {
      const result = await refusedAtStart(role, { FERRY_TLS_CERT_FILE: pki.ca.cert, FERRY_TLS_KEY_FILE: pki.ca.key });
      assertOneLine(role, result, 'FERRY_ERR_CERT',
        new RegExp(`${pki.ca.cert.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} \\(tls\\.certFile, CN=Fast Ferry bundle CA\\) is a CA certificate \\(basicConstraints CA:TRUE\\), not the ${role}'s own: point tls\\.certFile and tls\\.keyFile at the ${role}'s tls\\.crt and tls\\.key, or regenerate with \`bash deploy\\.sh --rotate-certs\``));
    });
  }

  test("the terminator's certificate as the initiator's (serverAuth, not clientAuth)", async () => {
    assertOneLine('initiator', await refusedAtStart('initiator', { FERRY_TLS_CERT_FILE: pki.terminator.cert, FERRY_TLS_KEY_FILE: pki.terminator.key }), 'FERRY_ERR_CERT',
      /terminator\/tls\.crt \(tls\.certFile, CN=terminator\) has extended key usage serverAuth, but the initiator needs clientAuth \(is it the terminator's certificate\?\)/);
  });

  test("the initiator's certificate as the terminator's (clientAuth, not serverAuth)", async () => {
    assertOneLine('terminator', await refusedAtStart('terminator', { FERRY_TLS_CERT_FILE: pki.initiator.cert, FERRY_TLS_KEY_FILE: pki.initiator.key }), 'FERRY_ERR_CERT',
      /initiator\/tls\.crt \(tls\.certFile, CN=initiator\) has extended key usage clientAuth, but the terminator needs serverAuth \(is it the initiator's certificate\?\)/);
  });

  test('a leaf certificate as the CA', async () => {
    assertOneLine('initiator', await refusedAtStart('initiator', { FERRY_TLS_CA_FILE: pki.terminator.cert }), 'FERRY_ERR_CERT',
      /terminator\/tls\.crt \(tls\.caFile, CN=terminator\) is not a CA certificate \(no basicConstraints CA:TRUE\): point tls\.caFile at the bundle's ca\.crt/);
  });
});

test('the legitimate pair kept delivering throughout', async () => {
  const res = await post(pair.trigger, '/trigger', { legit: true });
  assert.equal(res.status, 200);
  assert.equal((await get(pair.http, '/readyz')).status, 200);
  assert.equal(pair.initiator.child.exitCode, null);
  assert.equal(pair.terminator.child.exitCode, null);
});
