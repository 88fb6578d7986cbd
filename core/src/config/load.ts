/**
 * Loads the runtime configuration: defaults, then the YAML file named by FERRY_CONFIG_FILE
 * (the chart mounts its ConfigMap there), then FERRY_* env variables. Validated once against
 * CONFIG_SCHEMA; the first bad value throws a ConfigError naming the key, the value and the
 * expected form; the result is deeply frozen.
 */
import { readFileSync } from 'node:fs';
import yaml from 'js-yaml';
import { ConfigError } from '../errors.js';
import { CONFIG_FILE_ENV, CONFIG_SCHEMA, envNameOf, type FerryConfig, type Leaf } from './schema.js';

export interface LoadConfigOptions {
  env?: NodeJS.ProcessEnv;
  /** Overrides applied last, by dotted key (tests and embedders). */
  overrides?: Readonly<Record<string, unknown>>;
}

export function loadConfig(options: LoadConfigOptions = {}): FerryConfig {
  const env = options.env ?? process.env;
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
    if (!(key in CONFIG_SCHEMA)) throw new ConfigError(key, options.overrides?.[key], `one of the known keys (${knownKeys()})`);
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
    doc = yaml.load(text, { schema: yaml.CORE_SCHEMA });
  } catch (err) {
    throw new ConfigError(CONFIG_FILE_ENV, path, `valid YAML (${(err as Error).message.split('\n')[0]})`);
  }
  if (doc === null || doc === undefined) return out;
  if (!isPlainObject(doc)) throw new ConfigError(CONFIG_FILE_ENV, path, 'a YAML mapping of sections (log, http, session, ...)');
  for (const [section, body] of Object.entries(doc)) {
    if (!isPlainObject(body)) throw new ConfigError(section, body, `a mapping of ${section}.* keys`);
    for (const [name, value] of Object.entries(body)) {
      const key = `${section}.${name}`;
      if (!(key in CONFIG_SCHEMA)) throw new ConfigError(key, value, `one of the known keys (${knownKeys()})`);
      out.set(key, value);
    }
  }
  return out;
}

function coerce(source: string, leaf: Leaf, raw: unknown): unknown {
  switch (leaf.kind) {
    case 'int':
    case 'number': {
      const n = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
      const isInt = leaf.kind === 'int';
      if (typeof n !== 'number' || !Number.isFinite(n) || (isInt && !Number.isInteger(n)) || n < leaf.min || n > leaf.max) {
        throw new ConfigError(source, raw, `${isInt ? 'an integer' : 'a number'} from ${leaf.min} to ${leaf.max}`);
      }
      return n;
    }
    case 'string': {
      if (typeof raw !== 'string') throw new ConfigError(source, raw, 'a string');
      if (raw !== '' && leaf.pattern && !leaf.pattern.test(raw)) throw new ConfigError(source, raw, leaf.patternDoc ?? `a string matching ${leaf.pattern}`);
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

function knownKeys(): string {
  return 'see the README config table';
}
