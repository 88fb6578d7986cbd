/**
 * Hook logs with log.format=json, real processes: the shipped terminator's plain console.log
 * in its hook comes out as a JSON line of the app's logger, and a failing hook is logged on
 * both sides, where it ran with its first line at warn and its stack at debug, and where the
 * HTTP caller was answered 502.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { makeTestPki } from '../helpers/pki.js';
import { freePort } from '../helpers/ports.js';
import { post, startInitiator, startTerminator, type Proc } from '../helpers/procs.js';

const pki = makeTestPki();
after(() => pki.cleanup());

type Line = Record<string, unknown>;

/** A line's JSON object, or a failure naming the line that is not one. */
function parse(proc: Proc, line: string): Line {
  try {
    const value: unknown = JSON.parse(line);
    assert.ok(typeof value === 'object' && value !== null && !Array.isArray(value));
    return value as Line;
  } catch {
    assert.fail(`${proc.name} printed a line that is not a JSON object: ${line}`);
  }
}

async function pair(fixtures: boolean, env: Record<string, string>): Promise<{ initiator: Proc; terminator: Proc; http: number; trigger: number; stop(): Promise<void> }> {
  const sessionPort = await freePort();
  const http = await freePort();
  const trigger = await freePort();
  const terminator = startTerminator({ pki, httpPort: await freePort(), sessionPort, env, ...(fixtures ? { fixture: 'terminator.ts' } : {}) });
  await terminator.waitFor(/"msg":"terminator up"/);
  const initiator = startInitiator({ pki, httpPort: http, triggerPort: trigger, sessionPort, env: { ...env, FERRY_AUTO_TRIGGER_COUNT: '0' }, ...(fixtures ? { fixture: 'initiator.ts' } : {}) });
  await initiator.waitFor(/"msg":"session open"/);
  return {
    initiator,
    terminator,
    http,
    trigger,
    async stop() {
      await initiator.kill();
      await terminator.kill();
    },
  };
}

describe('hook logs with log.format=json', () => {
  test("the shipped terminator hook's console.log is a JSON line of the app's logger; every line of both apps is JSON", async () => {
    const apps = await pair(false, { FERRY_LOG_FORMAT: 'json' });
    try {
      const res = await post(apps.trigger, '/trigger', { order: 42 });
      assert.equal(res.status, 200);
      const line = parse(apps.terminator, await apps.terminator.waitFor(/📨 Received/));
      assert.equal(line['level'], 'info');
      assert.equal(line['app'], 'terminator');
      assert.equal(line['source'], 'console');
      assert.match(String(line['msg']), /^📨 Received [0-9a-f]{16}-1: \{"order":42\}$/);
    } finally {
      await apps.stop();
    }
    for (const proc of [apps.initiator, apps.terminator]) for (const l of proc.lines) parse(proc, l);
  });

  test("message.log and on_trigger's context.log write JSON lines carrying the hook's name", async () => {
    const apps = await pair(true, { FERRY_LOG_FORMAT: 'json' });
    try {
      assert.equal((await post(apps.trigger, '/trigger', { log: 'order 42 stored' })).status, 200);
      const sent = parse(apps.initiator, await apps.initiator.waitFor(/order 42 stored/));
      assert.deepEqual([sent['level'], sent['msg'], sent['app'], sent['hook']], ['info', 'order 42 stored', 'initiator', 'on_trigger']);
      const received = parse(apps.terminator, await apps.terminator.waitFor(/order 42 stored/));
      assert.deepEqual([received['level'], received['msg'], received['app'], received['hook']], ['info', 'order 42 stored', 'terminator', 'on_receive_terminator']);
      assert.match(String(received['id']), /^[0-9a-f]{16}-1$/);
    } finally {
      await apps.stop();
    }
  });

  test('a failing hook: warn and debug stack where it ran, warn on the side whose caller got 502', async () => {
    const apps = await pair(true, { FERRY_LOG_FORMAT: 'json', FERRY_LOG_LEVEL: 'debug' });
    try {
      const res = await post(apps.trigger, '/trigger', { fail: 'the database is down' });
      assert.equal(res.status, 502);
      const warn = parse(apps.terminator, await apps.terminator.waitFor(/"level":"warn".*on_receive_terminator failed/));
      assert.equal(warn['msg'], 'on_receive_terminator failed: on_receive_terminator rejected: the database is down');
      assert.equal(warn['code'], 'FERRY_ERR_HOOK_FAILED');
      assert.equal(warn['hook'], 'on_receive_terminator');
      const debug = parse(apps.terminator, await apps.terminator.waitFor(/"level":"debug".*on_receive_terminator failed.*\(stack\)/));
      assert.match(String(debug['stack']), /^Error: the database is down\n\s+at on_receive_terminator \(.*terminator\.ts:\d+:\d+\)/);
      assert.equal(debug['id'], warn['id']);
      const told = parse(apps.initiator, await apps.initiator.waitFor(/"level":"warn".*not delivered/));
      assert.equal(told['msg'], `message ${String(warn['id'])} not delivered: the terminator's on_receive_terminator failed: on_receive_terminator rejected: the database is down (its caller was told FERRY_ERR_REMOTE_HOOK)`);
      assert.equal(told['code'], 'FERRY_ERR_REMOTE_HOOK');
    } finally {
      await apps.stop();
    }
  });
});
