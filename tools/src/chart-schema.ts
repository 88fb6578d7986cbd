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
import { CONFIG_SCHEMA, FORMAT_DOCS, type StringFormat } from '@fast-ferry/core';

type RuntimeLeaf = (typeof CONFIG_SCHEMA)[keyof typeof CONFIG_SCHEMA];

/** Runtime keys the chart derives from its own manifests, each with the reason an error shows. */
export const CHART_OWNED_KEYS: Readonly<Record<string, string>> = Object.freeze({
  'http.port': 'the chart sets it from its ports.http value',
  'http.triggerPort': 'the chart sets it from its ports.trigger value',
  'http.triggerTokenFile': 'the chart mounts trigger.auth.existingSecret and sets the path',
  'session.listenPort': 'the chart sets it from its ports.session value',
  'session.url': 'the chart points it at the terminator Service',
  'tls.caFile': 'the chart mounts the TLS Secret and sets the paths',
  'tls.certFile': 'the chart mounts the TLS Secret and sets the paths',
  'tls.keyFile': 'the chart mounts the TLS Secret and sets the paths',
});

type JsonSchema = Record<string, unknown>;

const OCTET = '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
const IPV4 = `${OCTET}(\\.${OCTET}){3}`;
const H16 = '[0-9A-Fa-f]{1,4}';
const IPV6 = [
  `(${H16}:){7}${H16}`,
  `(${H16}:){1,7}:`,
  `(${H16}:){1,6}:${H16}`,
  `(${H16}:){1,5}(:${H16}){1,2}`,
  `(${H16}:){1,4}(:${H16}){1,3}`,
  `(${H16}:){1,3}(:${H16}){1,4}`,
  `(${H16}:){1,2}(:${H16}){1,5}`,
  `${H16}:(:${H16}){1,6}`,
  `:((:${H16}){1,7}|:)`,
  `(${H16}:){6}${IPV4}`,
  `((${H16}:){0,4}${H16})?::(${H16}:){0,4}${IPV4}`,
].join('|');
/** A zone index after a link-local address (fe80::1%eth0), which Node's isIPv6 takes. */
const ZONE = '(%[0-9A-Za-z._-]+)?';
const LABEL = '[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
/** A last label that is not all digits (an all-digit one makes the name a bad IPv4 address). */
const LAST_LABEL = '([A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?|[0-9][A-Za-z0-9-]{0,61}[A-Za-z]|[0-9]+[A-Za-z-][A-Za-z0-9-]*[0-9])';

/**
 * JSON-schema patterns (RE2, no look-ahead) for the apps' string formats, so `helm install`
 * refuses what the pods' loader (core's FORMAT_CHECKS) would refuse at start-up. A pattern
 * cannot count the 253 characters of a whole DNS name nor the groups around an embedded IPv4 address; the loader stays
 * the authority, and tools/test/chart-schema.test.ts checks the two agree on typical values.
 * wss-url has none: its only key, session.url, is set by the chart.
 */
export const FORMAT_PATTERNS: Readonly<Partial<Record<StringFormat, string>>> = Object.freeze({
  host: `^(${IPV4}|(${IPV6})${ZONE}|(${LABEL}\\.)*${LAST_LABEL}\\.?)$`,
});

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
      const format: StringFormat | undefined = 'format' in leaf ? leaf.format : undefined;
      const formatPattern = format === undefined ? undefined : FORMAT_PATTERNS[format];
      if (format !== undefined && formatPattern !== undefined) {
        // An empty value passes the loader only where the default is empty (session.serverName).
        const empty = leaf.default === '' ? '^$|' : '';
        const patterns = [`${empty}${formatPattern}`, ...(re ? [`^$|${re.source}`] : [])];
        const described = `${description} Form: ${FORMAT_DOCS[format]}.`;
        return patterns.length === 1 ? { type: 'string', maxLength: 254, pattern: patterns[0], description: described } : { type: 'string', maxLength: 254, allOf: patterns.map((pattern) => ({ pattern })), description: described };
      }
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
