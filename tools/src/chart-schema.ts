/**
 * The chart's side of the runtime config: which keys the chart derives itself (so neither
 * blueprint.yaml nor the chart's `config` value may set them), and the JSON-schema fragment
 * values.schema.json carries under definitions.runtimeConfig, derived from the apps'
 * CONFIG_SCHEMA. The chart test compares that fragment with the file; when they drift,
 * `npm run chart:schema` (this file with --write) rewrites that part of values.schema.json.
 *
 *   node tools/dist/chart-schema.js [--write]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONFIG_SCHEMA } from '@fast-ferry/core';

type RuntimeLeaf = (typeof CONFIG_SCHEMA)[keyof typeof CONFIG_SCHEMA];

/** Runtime keys the chart derives from its own manifests, each with the reason an error shows. */
export const CHART_OWNED_KEYS: Readonly<Record<string, string>> = Object.freeze({
  'http.port': 'the chart sets it from its ports.http value',
  'session.listenPort': 'the chart sets it from its ports.session value',
  'session.url': 'the chart points it at the terminator Service',
  'tls.caFile': 'the chart mounts the TLS Secret and sets the paths',
  'tls.certFile': 'the chart mounts the TLS Secret and sets the paths',
  'tls.keyFile': 'the chart mounts the TLS Secret and sets the paths',
});

type JsonSchema = Record<string, unknown>;

function leafSchema(leaf: RuntimeLeaf): JsonSchema {
  const description = `${leaf.doc} Default: ${JSON.stringify(leaf.default)}.`;
  switch (leaf.kind) {
    case 'int':
      return { type: 'integer', minimum: leaf.min, maximum: leaf.max, description };
    case 'number':
      return { type: 'number', minimum: leaf.min, maximum: leaf.max, description };
    case 'enum':
      return { type: 'string', enum: [...leaf.values], description };
    case 'string': {
      const re: RegExp | undefined = 'pattern' in leaf ? leaf.pattern : undefined;
      return re ? { type: 'string', pattern: `^$|${re.source}`, description } : { type: 'string', description };
    }
  }
}

/** definitions.runtimeConfig of values.schema.json: every CONFIG_SCHEMA key the chart does not own. */
export function runtimeConfigSchema(): JsonSchema {
  const sections: Record<string, { type: 'object'; additionalProperties: false; properties: Record<string, JsonSchema> }> = {};
  for (const [key, leaf] of Object.entries(CONFIG_SCHEMA) as [string, RuntimeLeaf][]) {
    if (key in CHART_OWNED_KEYS) continue;
    const [section, name] = key.split('.') as [string, string];
    (sections[section] ??= { type: 'object', additionalProperties: false, properties: {} }).properties[name] = leafSchema(leaf);
  }
  return {
    type: 'object',
    additionalProperties: false,
    description: 'Runtime configuration of both pods (sections and keys of the apps\' config schema).',
    properties: sections,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (process.argv.includes('--write')) {
    const file = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'charts', 'fast-ferry', 'values.schema.json');
    const schema = JSON.parse(readFileSync(file, 'utf8')) as { definitions: Record<string, unknown> };
    schema.definitions['runtimeConfig'] = runtimeConfigSchema();
    writeFileSync(file, `${JSON.stringify(schema, null, 2)}\n`);
    process.stdout.write(`updated definitions.runtimeConfig in ${file}\n`);
  } else {
    process.stdout.write(`${JSON.stringify(runtimeConfigSchema(), null, 2)}\n`);
  }
}
