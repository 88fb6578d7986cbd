import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { HookError } from '../src/errors.js';
import { checkHook, logHookFailure, runHook } from '../src/hooks.js';
import { createLogger, routeConsole } from '../src/log.js';
import { RepeatedLog } from '../src/log-limit.js';

test('a hook that is not a function is refused at start-up, naming the hook and the fix', () => {
  assert.throws(() => checkHook('on_trigger', 'nope'), (err: unknown) =>
    err instanceof HookError && err.code === 'FERRY_ERR_HOOK_INVALID' && /on_trigger must be a function .*got string.*SECTION 1/.test(err.message));
  assert.equal(checkHook('on_receive_initiator', undefined, true), undefined);
  assert.throws(() => checkHook('on_receive_terminator', undefined), HookError);
});

test('a sync hook returns its value without a promise', () => {
  assert.equal(runHook('on_trigger', 100, () => 42), 42);
});

test('a sync throw becomes FERRY_ERR_HOOK_FAILED naming the hook', () => {
  assert.throws(() => runHook('on_trigger', 100, () => { throw new Error('bad input'); }), (err: unknown) =>
    err instanceof HookError && err.code === 'FERRY_ERR_HOOK_FAILED' && err.message === 'on_trigger threw: bad input');
});

test('an async hook is awaited; a rejection names the hook', async () => {
  assert.equal(await runHook('on_trigger', 100, async () => 7), 7);
  await assert.rejects(Promise.resolve(runHook('on_receive_terminator', 100, async () => { throw new Error('nope'); })), /on_receive_terminator rejected: nope/);
});

test('an async hook that does not settle in time fails with FERRY_ERR_HOOK_TIMEOUT', async () => {
  // The timeout timer is unref'd (a stuck hook must not keep a stopped runtime's process
  // alive); in a runtime its servers keep the event loop going, as this interval does here.
  const runtimeIsUp = setInterval(() => {}, 1000);
  try {
    await assert.rejects(Promise.resolve(runHook('on_receive_terminator', 30, () => new Promise(() => {}))), (err: unknown) =>
      err instanceof HookError && err.code === 'FERRY_ERR_HOOK_TIMEOUT' && /within 30 ms \(hooks\.timeoutMs\)/.test(err.message));
  } finally {
    clearInterval(runtimeIsUp);
  }
});

test("a stuck hook's timeout does not keep the process alive by itself", () => {
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', `
    import { runHook } from ${JSON.stringify(new URL('../src/hooks.ts', import.meta.url).href)};
    runHook('on_receive_terminator', 60_000, () => new Promise(() => {}));
  `], { timeout: 20_000, encoding: 'utf8' });
  assert.equal(child.error, undefined, 'the process exited well before the 60 s hook timeout');
  assert.equal(child.status, 0, child.stderr);
});

test('a hook failure is logged as its first line at warn and its stack at debug; a capped warn line has no stack line either', () => {
  const lines: Array<{ level: string; msg: string; stack?: string }> = [];
  const logger = createLogger({ format: 'json', level: 'debug', write: (line) => lines.push(JSON.parse(line)) });
  const limit = new RepeatedLog('hook failures', 1, 60_000);
  const err = new HookError('FERRY_ERR_HOOK_FAILED', 'on_receive_terminator', 'on_receive_terminator threw: first\nsecond', { cause: new Error('first\nsecond') });
  logHookFailure(limit, logger, 'on_receive_terminator failed', err, { id: 'x-1' });
  logHookFailure(limit, logger, 'on_receive_terminator failed', err, { id: 'x-2' });
  assert.deepEqual(lines.map((l) => [l.level, l.msg]), [
    ['warn', 'on_receive_terminator failed: on_receive_terminator threw: first'],
    ['debug', 'on_receive_terminator failed: on_receive_terminator threw: first (stack)'],
  ]);
  assert.match(String(lines[1]?.stack), /^Error: first\nsecond\n\s+at /, "the stack of what the hook threw");
});

test('routeConsole turns console.log and console.error into JSON lines of the logger until undone', () => {
  const lines: string[] = [];
  const undo = routeConsole(createLogger({ format: 'json', level: 'info', fields: { app: 'terminator' }, write: (line) => lines.push(line) }));
  try {
    console.log('📨 got %d', 3, { a: 1 });
    console.error('bad');
    console.debug('below the level');
  } finally {
    undo();
  }
  const parsed = lines.map((l) => JSON.parse(l));
  assert.deepEqual(parsed.map((p) => [p.level, p.msg, p.app, p.source]), [
    ['info', '📨 got 3 { a: 1 }', 'terminator', 'console'],
    ['error', 'bad', 'terminator', 'console'],
  ]);
});
