/**
 * The default names are defined once for TypeScript (tools/src/names.ts); bash and Helm keep
 * copies, which these tests hold to it. (The chart's rendered Deployments, containers and NOTES
 * are checked against names.ts in test/chart/chart.test.ts; deploy.sh's last line and
 * teardown.sh's namespaces in test/scripts/.)
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import yaml from 'js-yaml';
import { CONFIG_SCHEMA } from '@fast-ferry/core';
import { CONTAINER, INITIATOR, TERMINATOR, logsCommand, serviceDnsNames } from '../src/names.js';
import { INITIATOR_SANS, TERMINATOR_SANS } from '../src/pki.js';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const read = (path: string) => readFileSync(join(REPO_ROOT, path), 'utf8');

describe('default names (tools/src/names.ts) and their copies', () => {
  it("tools/lib.sh's INITIATOR_NS and TERMINATOR_NS", () => {
    const lib = read('tools/lib.sh');
    const value = (name: string) => new RegExp(`^${name}="([^"]*)"$`, 'm').exec(lib)?.[1];
    assert.equal(value('INITIATOR_NS'), INITIATOR.namespace);
    assert.equal(value('TERMINATOR_NS'), TERMINATOR.namespace);
  });

  it("the chart's values.yaml namespace defaults", () => {
    const values = yaml.load(read('charts/fast-ferry/values.yaml')) as { namespaces: Record<string, unknown> };
    assert.equal(values.namespaces['initiator'], INITIATOR.namespace);
    assert.equal(values.namespaces['terminator'], TERMINATOR.namespace);
  });

  it("the apps' default session.url dials the terminator Service, and its certificate is valid for that name", () => {
    const host = new URL(CONFIG_SCHEMA['session.url'].default).hostname;
    assert.ok(serviceDnsNames(TERMINATOR).includes(host), `${host} is a name of the terminator Service`);
    assert.ok(TERMINATOR_SANS.includes(`DNS:${host}`));
    assert.ok(INITIATOR_SANS.includes(`DNS:${INITIATOR.deployment}`));
  });

  it('the verify command the bundle page, NOTES.txt and deploy.sh print', () => {
    assert.equal(logsCommand(), `kubectl logs -n fast-ferry-initiator-ns deployment/initiator -c ${CONTAINER} -f`);
  });
});
