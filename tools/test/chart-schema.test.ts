import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FORMAT_CHECKS } from '@fast-ferry/core';
import { FORMAT_PATTERNS, runtimeConfigSchema } from '../src/chart-schema.js';

/** Hosts an operator might write, good and bad; the pattern must judge each as the pods' loader does. */
const HOSTS = [
  '0.0.0.0', '127.0.0.1', '255.255.255.255', '10.0.0.1', '999.1.1.1', '1.2.3.999', '1.2.3', '01.2.3.4', '1.2.3.4.5',
  '::', '::1', '[::1]', '[::]', 'fe80::1', '2001:db8::8a2e:370:7334', '2001:0db8:0000:0000:0000:ff00:0042:8329', '::ffff:192.0.2.1',
  '1::', '1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8:9', ':::', '2001:db8::g', '1:2:3:4:5:6:1.2.3.4', '1:2::3:1.2.3.4', 'fe80::1%eth0', '::1%',
  'localhost', 'terminator', 'terminator.fast-ferry-terminator-ns.svc', 'terminator.example.', 'a.b.c.d', 'x1', '1x', '1a1', 'a-b',
  '-a', 'a-', 'a..b', '.a', 'a_b', 'bad host', 'host:8443', 'a.1', '1.a', `${'a'.repeat(63)}.com`, `${'a'.repeat(64)}.com`, '',
];

describe('chart schema formats', () => {
  it('the host pattern judges typical hosts as core FORMAT_CHECKS.host does', () => {
    const re = new RegExp(FORMAT_PATTERNS.host as string, 'u');
    const disagree = HOSTS.filter((h) => re.test(h) !== (FORMAT_CHECKS.host(h) === undefined));
    assert.deepEqual(disagree, []);
  });

  it('puts the host pattern on every host key of definitions.runtimeConfig, an empty serverName allowed', () => {
    const props = (runtimeConfigSchema()['properties'] as Record<string, { properties: Record<string, Record<string, unknown>> }>);
    const pattern = (leaf: Record<string, unknown> | undefined): string[] =>
      leaf?.['pattern'] !== undefined ? [leaf['pattern'] as string] : ((leaf?.['allOf'] as { pattern: string }[] | undefined) ?? []).map((p) => p.pattern);
    const patterns = (section: string, key: string) => pattern(props[section]?.properties[key]).map((p) => new RegExp(p, 'u'));
    for (const [section, key] of [['http', 'host'], ['session', 'listenHost'], ['session', 'serverName']] as const) {
      const res = patterns(section, key);
      assert.ok(res.length > 0, `${section}.${key} has a pattern`);
      assert.equal(res.every((re) => re.test('999.1.1.1')), false, `${section}.${key} refuses 999.1.1.1`);
      assert.ok(res.every((re) => re.test('terminator.example')), `${section}.${key} takes a DNS name`);
    }
    assert.ok(patterns('session', 'serverName').every((re) => re.test('')));
    assert.equal(patterns('http', 'host').every((re) => re.test('')), false);
  });
});
