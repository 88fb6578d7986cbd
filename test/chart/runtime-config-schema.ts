/**
 * The JSON-schema fragment values.schema.json must carry under definitions.runtimeConfig,
 * derived from the apps' CONFIG_SCHEMA. The chart test compares the two; when they drift,
 * `npm run chart:schema` (this file with --write) rewrites that part of values.schema.json.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONFIG_SCHEMA, type Leaf } from '../../core/src/config/schema.js';

/** Keys the chart derives from its own values (ports, Service URL, TLS mount); not settable in `config`. */
export const CHART_OWNED_KEYS: readonly string[] = [
  'http.port',
  'session.listenPort',
  'session.url',
  'tls.caFile',
  'tls.certFile',
  'tls.keyFile',
];

type JsonSchema = Record<string, unknown>;

function leafSchema(leaf: Leaf): JsonSchema {
  const description = `${leaf.doc} Default: ${JSON.stringify(leaf.default)}.`;
  switch (leaf.kind) {
    case 'int':
      return { type: 'integer', minimum: leaf.min, maximum: leaf.max, description };
    case 'number':
      return { type: 'number', minimum: leaf.min, maximum: leaf.max, description };
    case 'enum':
      return { type: 'string', enum: [...leaf.values], description };
    case 'string':
      return leaf.pattern ? { type: 'string', pattern: `^$|${leaf.pattern.source}`, description } : { type: 'string', description };
  }
}

export function runtimeConfigSchema(): JsonSchema {
  const sections: Record<string, { type: 'object'; additionalProperties: false; properties: Record<string, JsonSchema> }> = {};
  for (const [key, leaf] of Object.entries(CONFIG_SCHEMA) as [string, Leaf][]) {
    if (CHART_OWNED_KEYS.includes(key)) continue;
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
