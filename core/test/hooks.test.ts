import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { HookError } from '../src/errors.js';
import { checkHook, runHook } from '../src/hooks.js';

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
