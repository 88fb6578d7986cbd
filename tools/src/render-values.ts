/**
 * blueprint → Helm values for charts/fast-ferry. Only what the blueprint decides is written;
 * everything else keeps the chart's values.yaml defaults.
 */
import { readFileSync } from 'node:fs';
import yaml from 'js-yaml';
import { CONFIG_SCHEMA } from '@fast-ferry/core';
import { validateBlueprint, type Blueprint } from './blueprint-schema.js';

export interface RenderOptions {
  /** Image tags by component (deploy.sh passes content hashes); unset keeps the chart default. */
  readonly tags?: Readonly<Partial<Record<'initiator' | 'terminator', string>>>;
  /** A hash of the certificates, so a rotation rolls the pods. */
  readonly tlsChecksum?: string;
}

/** Seconds of grace beyond the drain timeout before Kubernetes kills a pod. */
export const GRACE_MARGIN_SECONDS = 20;

/** Reads and validates a blueprint file; errors name the file, the key and the expected form. */
export function loadBlueprint(file: string): Blueprint {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`${file}: cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  let doc: unknown;
  try {
    doc = yaml.load(text, { schema: yaml.CORE_SCHEMA, filename: file });
  } catch (err) {
    throw new Error(`${file}: not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  return validateBlueprint(doc, file);
}

/** The terminationGracePeriodSeconds that leaves the pods time to drain. */
export function gracePeriodSeconds(bp: Blueprint): number {
  const drainMs = bp.runtime['session']?.['drainTimeoutMs'] ?? CONFIG_SCHEMA['session.drainTimeoutMs'].default;
  return Math.max(30, Math.ceil(Number(drainMs) / 1000) + GRACE_MARGIN_SECONDS);
}

export function renderValues(bp: Blueprint, options: RenderOptions = {}): Record<string, unknown> {
  const component = (name: 'initiator' | 'terminator') => {
    const tag = options.tags?.[name];
    return {
      replicaCount: bp.replicas[name],
      image: { repository: bp.images[name], ...(tag ? { tag } : {}) },
      resources: { requests: { ...bp.resources[name].requests }, limits: { ...bp.resources[name].limits } },
      ...(bp.resources[name].nodeOptions !== undefined ? { nodeOptions: bp.resources[name].nodeOptions } : {}),
    };
  };
  const config: Record<string, Record<string, string | number>> = {};
  for (const [section, body] of Object.entries(bp.runtime)) config[section] = { ...body };
  return {
    config,
    terminationGracePeriodSeconds: gracePeriodSeconds(bp),
    topologySpread: { enabled: bp.replicas.topologySpread },
    ...(options.tlsChecksum ? { tls: { checksum: options.tlsChecksum } } : {}),
    initiator: component('initiator'),
    terminator: component('terminator'),
  };
}

export function renderValuesYaml(bp: Blueprint, options: RenderOptions = {}): string {
  return `# Rendered from blueprint.yaml by tools/dist/blueprint.js; do not edit (edit blueprint.yaml).\n${yaml.dump(renderValues(bp, options), { lineWidth: 120, noRefs: true })}`;
}
