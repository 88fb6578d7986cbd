/**
 * Checks for config values whose shape a regular expression cannot tell: a wss:// URL that a
 * dial can actually use, and a host to bind or dial. Each returns undefined when the value is
 * good, or the reason it is not (the loader puts it beside the expected form), so a value
 * that cannot work stops start-up instead of failing on every reconnect.
 */
import { isIPv4, isIPv6 } from 'node:net';

/** The names a string leaf can ask to be checked as (CONFIG_SCHEMA's `format`). */
export type StringFormat = 'wss-url' | 'host';

export const FORMAT_DOCS: Record<StringFormat, string> = {
  'wss-url': 'a wss:// URL with a host and a port from 1 to 65535, such as wss://terminator.fast-ferry-terminator-ns.svc:8443',
  host: 'an IPv4 address (0.0.0.0), an IPv6 address without brackets (::), or a DNS name',
};

const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/** Why `value` is not a host, or undefined when it is one. */
export function hostProblem(value: string): string | undefined {
  if (value === '') return 'it is empty';
  if (isIPv4(value) || isIPv6(value)) return undefined;
  if (value.startsWith('[')) return 'IPv6 addresses are written without brackets here';
  const name = value.endsWith('.') ? value.slice(0, -1) : value;
  if (name.length > 253) return 'a DNS name is at most 253 characters';
  const labels = name.split('.');
  const bad = labels.find((label) => !LABEL.test(label));
  if (bad !== undefined) return bad === '' ? 'it has an empty label' : `"${bad}" is not a DNS label (letters, digits, inner hyphens, at most 63)`;
  // A name whose last label is all digits is read as an address (RFC 3696 §2), so 999.1.1.1
  // is a bad IPv4 address, not a host name that DNS will later fail to find.
  if (/^\d+$/.test(labels[labels.length - 1] ?? '')) return 'it looks like an IPv4 address but is not one (four parts, each 0-255)';
  return undefined;
}

/** Why `value` is not a usable wss:// URL, or undefined when it is one. */
export function wssUrlProblem(value: string): string | undefined {
  // Host and port are taken apart by hand first: WHATWG URL says only "Invalid URL" for both.
  const authority = /^wss:\/\/([^/?#]*)/.exec(value)?.[1];
  if (authority === undefined) return 'it does not start with wss://';
  if (authority.includes('@')) return 'it carries credentials, which are not used (the certificates authenticate)';
  const parts = /^(\[[^\]]*\]|[^:]*)(?::(.*))?$/.exec(authority);
  if (!parts) return 'its host is not a DNS name, an IPv4 address or a bracketed IPv6 address';
  const host = parts[1] ?? '';
  const port = parts[2];
  const bare = host.startsWith('[') ? host.slice(1, -1) : host;
  if (host.startsWith('[') && !isIPv6(bare)) return `its host ${host} is not an IPv6 address`;
  const problem = host.startsWith('[') ? undefined : hostProblem(host);
  if (problem !== undefined) return `its host "${host}" is not usable: ${problem}`;
  if (port !== undefined) {
    if (!/^\d+$/.test(port)) return `its port "${port}" is not a number`;
    const n = Number(port);
    if (n < 1 || n > 65535) return `its port ${port} is outside 1-65535`;
  }
  try {
    new URL(value);
  } catch {
    return 'it is not a parseable URL';
  }
  return undefined;
}

export const FORMAT_CHECKS: Record<StringFormat, (value: string) => string | undefined> = {
  'wss-url': wssUrlProblem,
  host: hostProblem,
};
