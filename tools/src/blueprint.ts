/**
 * blueprint CLI, used by deploy.sh:
 *   node tools/dist/blueprint.js check  [--file blueprint.yaml]
 *   node tools/dist/blueprint.js env    [--file blueprint.yaml]     KEY=VALUE lines for deploy.sh
 *   node tools/dist/blueprint.js values [--file blueprint.yaml] [--out FILE]
 *        [--tag initiator=TAG] [--tag terminator=TAG] [--tls-checksum HASH]
 * A bad blueprint prints one line (file: key: got ..., expected ...) and exits 1.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { CONFIG_SCHEMA } from '@fast-ferry/core';
import type { Blueprint } from './blueprint-schema.js';
import { loadBlueprint, renderValuesYaml } from './render-values.js';

const USAGE = 'usage: blueprint.js check|env|values [--file blueprint.yaml] [--out FILE] [--tag COMPONENT=TAG]... [--tls-checksum HASH]';

/** The settings deploy.sh needs, as KEY=VALUE lines (values are validated: no quoting needed). */
export function envLines(bp: Blueprint): string {
  const count = bp.runtime['autoTrigger']?.['count'] ?? CONFIG_SCHEMA['autoTrigger.count'].default;
  return [
    `FERRY_RELEASE=${bp.bundle.name}`,
    `FERRY_CLUSTER=${bp.cluster.name}`,
    `FERRY_NODE_IMAGE=${bp.images.nodeImage}`,
    `FERRY_INITIATOR_IMAGE=${bp.images.initiator}`,
    `FERRY_TERMINATOR_IMAGE=${bp.images.terminator}`,
    `FERRY_AUTO_TRIGGER_COUNT=${count}`,
  ].join('\n');
}

export function main(argv: readonly string[]): number {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        file: { type: 'string', default: 'blueprint.yaml' },
        out: { type: 'string' },
        tag: { type: 'string', multiple: true, default: [] },
        'tls-checksum': { type: 'string' },
      },
    });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const { values: opts, positionals } = parsed;
  const command = positionals[0];
  let bp: Blueprint;
  try {
    bp = loadBlueprint(opts.file);
  } catch (err) {
    process.stderr.write(`✖ ${(err as Error).message}\n`);
    return 1;
  }
  switch (command) {
    case 'check':
      process.stdout.write(`${opts.file} is valid\n`);
      return 0;
    case 'env':
      process.stdout.write(`${envLines(bp)}\n`);
      return 0;
    case 'values': {
      const tags: Partial<Record<'initiator' | 'terminator', string>> = {};
      for (const t of opts.tag) {
        const m = /^(initiator|terminator)=([A-Za-z0-9_][A-Za-z0-9_.-]{0,127})$/.exec(t);
        if (!m) {
          process.stderr.write(`--tag ${t}: expected initiator=TAG or terminator=TAG\n`);
          return 2;
        }
        tags[m[1] as 'initiator' | 'terminator'] = m[2] as string;
      }
      const checksum = opts['tls-checksum'];
      const text = renderValuesYaml(bp, { tags, ...(checksum ? { tlsChecksum: checksum } : {}) });
      if (opts.out) writeFileSync(opts.out, text);
      else process.stdout.write(text);
      return 0;
    }
    default:
      process.stderr.write(`${USAGE}\n`);
      return 2;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = main(process.argv.slice(2));
