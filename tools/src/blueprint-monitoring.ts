/**
 * blueprint.yaml's optional monitoring section: the chart's serviceMonitor, grafanaDashboard,
 * prometheusRule and helmTest switches and the settings worth changing per bundle. Each key
 * is checked against the chart's own values.schema.json (types, bounds, patterns), so the
 * blueprint accepts what `helm install` accepts, and the error names the blueprint key.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

type Fail = (key: string, value: unknown, expected: string) => never;
type JsonSchema = Readonly<Record<string, unknown>>;

/** Chart value sections the blueprint may set, and the keys of each it exposes. */
export const MONITORING_KEYS: Readonly<Record<string, readonly string[]>> = Object.freeze({
  serviceMonitor: ['enabled', 'interval', 'labels'],
  grafanaDashboard: ['enabled', 'namespace'],
  prometheusRule: [
    'enabled',
    'labels',
    'noSessionMinutes',
    'circuitOpenMinutes',
    'lagSeconds',
    'outboxFullRatio',
    'hookErrorRatio',
    'redeliveryRatio',
    'certificateExpiryDays',
  ],
  helmTest: ['enabled', 'timeoutSeconds'],
});

/** The monitoring section as given: chart section → key → value (unset keys keep the chart's). */
export type Monitoring = Readonly<Record<string, Readonly<Record<string, unknown>>>>;

/** The chart's values.schema.json; tools/src and tools/dist are both two levels below the repository. */
export const CHART_VALUES_SCHEMA = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'charts', 'fast-ferry', 'values.schema.json');

let chartSchema: JsonSchema | undefined;
function chartProperty(section: string, key: string): JsonSchema {
  chartSchema ??= JSON.parse(readFileSync(CHART_VALUES_SCHEMA, 'utf8')) as JsonSchema;
  const sections = chartSchema['properties'] as Record<string, JsonSchema>;
  const props = sections[section]?.['properties'] as Record<string, JsonSchema> | undefined;
  const prop = props?.[key];
  if (prop === undefined) throw new Error(`${CHART_VALUES_SCHEMA} has no ${section}.${key}: MONITORING_KEYS in tools/src/blueprint-monitoring.ts names a chart value that does not exist`);
  return prop;
}

/** Validates the monitoring section (absent or null: nothing set). */
export function monitoringOf(value: unknown, fail: Fail): Monitoring {
  if (value === undefined || value === null) return {};
  if (!isMapping(value)) return fail('monitoring', value, `a mapping with any of ${Object.keys(MONITORING_KEYS).join(', ')}`);
  const out: Record<string, Record<string, unknown>> = {};
  for (const [section, body] of Object.entries(value)) {
    const keys = MONITORING_KEYS[section];
    const path = `monitoring.${section}`;
    if (keys === undefined) fail(path, body, `one of ${Object.keys(MONITORING_KEYS).map((s) => `monitoring.${s}`).join(', ')}`);
    if (body === null) continue;
    if (!isMapping(body)) return fail(path, body, `a mapping with any of ${(keys ?? []).join(', ')}`);
    for (const [key, v] of Object.entries(body)) {
      if (!(keys ?? []).includes(key)) fail(`${path}.${key}`, v, `one of ${(keys ?? []).map((k) => `${path}.${k}`).join(', ')}`);
      const problem = schemaProblem(chartProperty(section, key), v);
      if (problem !== undefined) fail(`${path}.${key}`, v, problem);
      (out[section] ??= {})[key] = v;
    }
  }
  return out;
}

/**
 * The expected form when `value` does not fit `schema`, else undefined: the subset of JSON
 * Schema the monitoring values use (type, bounds, lengths, pattern, string maps).
 */
export function schemaProblem(schema: JsonSchema, value: unknown): string | undefined {
  const types = ([] as string[]).concat((schema['type'] as string | string[] | undefined) ?? []);
  const expected = describe(schema, types);
  const typeOk = types.length === 0 || types.some((t) => fitsType(t, value));
  if (!typeOk) return expected;
  if (typeof value === 'number') {
    const min = schema['minimum'];
    const max = schema['maximum'];
    const exMin = schema['exclusiveMinimum'];
    if ((typeof min === 'number' && value < min) || (typeof max === 'number' && value > max) || (typeof exMin === 'number' && value <= exMin)) return expected;
  }
  if (typeof value === 'string') {
    const minLength = schema['minLength'];
    const maxLength = schema['maxLength'];
    const pattern = schema['pattern'];
    if ((typeof minLength === 'number' && value.length < minLength) || (typeof maxLength === 'number' && value.length > maxLength)) return expected;
    if (typeof pattern === 'string' && !new RegExp(pattern, 'u').test(value)) return expected;
  }
  if (isMapping(value)) {
    const inner = schema['additionalProperties'];
    if (typeof inner === 'object' && inner !== null) {
      for (const v of Object.values(value)) if (schemaProblem(inner as JsonSchema, v) !== undefined) return expected;
    }
  }
  return undefined;
}

function fitsType(type: string, value: unknown): boolean {
  switch (type) {
    case 'boolean':
      return typeof value === 'boolean';
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'string':
      return typeof value === 'string';
    case 'null':
      return value === null;
    case 'object':
      return isMapping(value);
    default:
      return false;
  }
}

/** "an integer from 1 to 3600 (Seconds the test waits for the answer.)" and the like. */
function describe(schema: JsonSchema, types: readonly string[]): string {
  const names: Record<string, string> = { boolean: 'true or false', integer: 'an integer', number: 'a number', string: 'a string', null: 'null', object: 'a mapping of names to strings' };
  let text = types.map((t) => names[t] ?? t).join(' or ') || 'a value';
  const bounds: string[] = [];
  if (typeof schema['minimum'] === 'number') bounds.push(`at least ${schema['minimum']}`);
  if (typeof schema['exclusiveMinimum'] === 'number') bounds.push(`above ${schema['exclusiveMinimum']}`);
  if (typeof schema['maximum'] === 'number') bounds.push(`at most ${schema['maximum']}`);
  if (typeof schema['maxLength'] === 'number') bounds.push(`at most ${schema['maxLength']} characters`);
  if (typeof schema['pattern'] === 'string') bounds.push(`matching ${schema['pattern']}`);
  if (bounds.length > 0) text += `, ${bounds.join(' and ')}`;
  const doc = schema['description'];
  return typeof doc === 'string' ? `${text} (${doc})` : text;
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
