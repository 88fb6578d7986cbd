/**
 * Loads the runtime configuration: defaults, then the YAML file named by FERRY_CONFIG_FILE
 * (the chart mounts its ConfigMap there), then FERRY_* env variables. Validated once against
 * CONFIG_SCHEMA; the first bad value throws a ConfigError naming the key, the value and the
 * expected form; the result is deeply frozen.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import yaml from 'js-yaml';
import { ConfigError } from '../errors.js';
import { FORMAT_CHECKS, FORMAT_DOCS } from './formats.js';
import { nearest } from './nearest.js';
import { CONFIG_FILE_ENV, CONFIG_SCHEMA, envNameOf, type FerryConfig, type Leaf } from './schema.js';

/**
 * FERRY_* variables that are not config keys but are legitimately in an app's environment:
 * `bash deploy.sh --local` (tools/src/local.ts) hands the operator's whole environment to both
 * apps, so deploy.sh's and local.ts's own settings reach them.
 */
export const NON_KEY_ENV = [
  CONFIG_FILE_ENV,
  'FERRY_CLUSTER',
  'FERRY_RELEASE',
  'FERRY_NODE_IMAGE',
  'FERRY_INITIATOR_IMAGE',
  'FERRY_TERMINATOR_IMAGE',
  'FERRY_STATE_DIR',
  'FERRY_LOCAL_INITIATOR_HTTP_PORT',
  'FERRY_LOCAL_INITIATOR_TRIGGER_PORT',
  'FERRY_LOCAL_TERMINATOR_HTTP_PORT',
  'FERRY_LOCAL_SESSION_PORT',
] as const;
/** Settings of the test fixtures (test/fixtures), read by them, not by the loader. */
const NON_KEY_ENV_PREFIX = 'FERRY_TEST_';

/** Plain decimal digits, an optional leading minus: no hex, exponent, blanks or underscores. */
const DECIMAL_INT = /^-?\d+$/;
const DECIMAL = /^-?\d+(\.\d+)?$/;

/**
 * YAML types for the config file: only plain decimal numbers become numbers, so `0x1f4` or
 * `1.5e3` in the file is refused like it is in env, instead of silently read as 500 or 1500.
 * Everything else stays a string (and null) for the schema to judge.
 */
const FILE_SCHEMA = yaml.FAILSAFE_SCHEMA.extend({
  implicit: [
    new yaml.Type('tag:yaml.org,2002:null', { kind: 'scalar', resolve: (s: string) => s === '' || s === '~' || s === 'null', construct: () => null }),
    new yaml.Type('tag:yaml.org,2002:int', { kind: 'scalar', resolve: (s: string) => DECIMAL_INT.test(s), construct: (s: string) => Number(s) }),
    new yaml.Type('tag:yaml.org,2002:float', { kind: 'scalar', resolve: (s: string) => DECIMAL.test(s), construct: (s: string) => Number(s) }),
  ],
});

export interface LoadConfigOptions {
  env?: NodeJS.ProcessEnv;
  /** Overrides applied last, by dotted key (tests and embedders). */
  overrides?: Readonly<Record<string, unknown>>;
}

export function loadConfig(options: LoadConfigOptions = {}): FerryConfig {
  const env = options.env ?? process.env;
  refuseUnknownEnv(env);
  const fromFile = readConfigFile(env[CONFIG_FILE_ENV]);
  const flat: Record<string, unknown> = {};
  for (const [key, leaf] of Object.entries(CONFIG_SCHEMA) as [string, Leaf][]) {
    let raw: unknown = leaf.default;
    let source = key;
    if (fromFile.has(key)) {
      raw = fromFile.get(key);
      source = `${key} (in ${env[CONFIG_FILE_ENV]})`;
    }
    const envName = envNameOf(key);
    const envValue = key === 'log.format' ? (env[envName] ?? env['LOG_FORMAT']) : env[envName];
    if (envValue !== undefined && envValue !== '') {
      raw = envValue;
      source = envName;
    }
    if (options.overrides && key in options.overrides) {
      raw = options.overrides[key];
      source = key;
    }
    flat[key] = coerce(source, leaf, raw);
  }
  for (const key of Object.keys(options.overrides ?? {})) {
    if (!(key in CONFIG_SCHEMA)) throw new ConfigError(key, options.overrides?.[key], `one of the known keys (${didYouMean(key, Object.keys(CONFIG_SCHEMA))}see the README config table)`);
  }
  return deepFreeze(nest(flat)) as FerryConfig;
}

/** Flattens the YAML file to dotted keys; unknown keys are an error (a typo must not pass). */
function readConfigFile(path: string | undefined): Map<string, unknown> {
  const out = new Map<string, unknown>();
  if (path === undefined || path === '') return out;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(CONFIG_FILE_ENV, path, `a readable YAML file (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`);
  }
  let doc: unknown;
  try {
    doc = yaml.load(text, { schema: FILE_SCHEMA });
  } catch (err) {
    throw new ConfigError(CONFIG_FILE_ENV, path, `valid YAML (${(err as Error).message.split('\n')[0]})`);
  }
  if (doc === null || doc === undefined) return out;
  if (!isPlainObject(doc)) throw new ConfigError(CONFIG_FILE_ENV, path, 'a YAML mapping of sections (log, http, session, ...)');
  for (const [section, body] of Object.entries(doc)) {
    if (!isPlainObject(body)) throw new ConfigError(section, body, `a mapping of ${section}.* keys`);
    for (const [name, value] of Object.entries(body)) {
      const key = `${section}.${name}`;
      if (!(key in CONFIG_SCHEMA)) throw new ConfigError(key, value, `one of the known keys (${didYouMean(key, Object.keys(CONFIG_SCHEMA))}see the README config table)`);
      out.set(key, value);
    }
  }
  return out;
}

function coerce(source: string, leaf: Leaf, raw: unknown): unknown {
  switch (leaf.kind) {
    case 'int':
    case 'number': {
      const isInt = leaf.kind === 'int';
      const n = typeof raw === 'string' && (isInt ? DECIMAL_INT : DECIMAL).test(raw) ? Number(raw) : raw;
      if (typeof n !== 'number' || !Number.isFinite(n) || (isInt && !Number.isInteger(n)) || n < leaf.min || n > leaf.max) {
        throw new ConfigError(source, raw, `${isInt ? 'an integer' : 'a number'} from ${leaf.min} to ${leaf.max}`);
      }
      return n;
    }
    case 'string': {
      if (typeof raw !== 'string') throw new ConfigError(source, raw, 'a string');
      if (raw !== '' && leaf.pattern && !leaf.pattern.test(raw)) throw new ConfigError(source, raw, leaf.patternDoc ?? `a string matching ${leaf.pattern}`);
      if (leaf.format && !(raw === '' && leaf.default === '')) {
        const problem = FORMAT_CHECKS[leaf.format](raw);
        if (problem !== undefined) throw new ConfigError(source, raw, `${FORMAT_DOCS[leaf.format]}; here ${problem}`);
      }
      return raw;
    }
    case 'enum': {
      if (typeof raw !== 'string' || !leaf.values.includes(raw)) throw new ConfigError(source, raw, `one of ${leaf.values.join(', ')}`);
      return raw;
    }
  }
}

function nest(flat: Record<string, unknown>): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const [key, value] of Object.entries(flat)) {
    const [section, name] = key.split('.') as [string, string];
    (out[section] ??= {})[name] = value;
  }
  return out;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Kubernetes service links: a pod with enableServiceLinks (the default; the chart turns it off)
 * gets <NAME>_SERVICE_HOST, <NAME>_SERVICE_PORT*, <NAME>_PORT* for each Service in its
 * namespace, so a Service named ferry-… yields FERRY_… variables the operator never set.
 * They come as a family with an IP in <NAME>_SERVICE_HOST; that family is not a typo.
 */
function serviceLinkPrefixes(env: NodeJS.ProcessEnv): string[] {
  const prefixes: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    const prefix = /^(FERRY_\w+)_SERVICE_HOST$/.exec(name)?.[1];
    if (prefix !== undefined && value !== undefined && isIP(value) !== 0) prefixes.push(prefix);
  }
  return prefixes;
}

/** `did you mean X? ` when a known name is close enough to be the intended one, else ''. */
function didYouMean(name: string, known: readonly string[]): string {
  const best = nearest(name, known);
  return best === undefined ? '' : `did you mean ${best}? `;
}

/**
 * A FERRY_* variable that is neither a key nor one of NON_KEY_ENV is a typo or a setting this
 * version does not have; either way it would be silently ignored, so it stops start-up.
 * Empty ones are skipped: an empty value means "unset" for the keys too.
 */
function refuseUnknownEnv(env: NodeJS.ProcessEnv): void {
  const keyNames = Object.keys(CONFIG_SCHEMA).map(envNameOf);
  const known = new Set<string>([...keyNames, ...NON_KEY_ENV]);
  const serviceLink = serviceLinkPrefixes(env);
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('FERRY_') || known.has(name) || name.startsWith(NON_KEY_ENV_PREFIX) || value === undefined || value === '') continue;
    if (serviceLink.some((prefix) => name.startsWith(`${prefix}_SERVICE_`) || name === `${prefix}_PORT` || name.startsWith(`${prefix}_PORT_`))) continue;
    throw new ConfigError(name, value, `a known FERRY_* setting, as FERRY_* names are reserved for them (${didYouMean(name, [...known])}see the README config table)`);
  }
}
