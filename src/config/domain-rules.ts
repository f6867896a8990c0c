// Domain allowlist entries as the owner writes them (CARAPACE_EGRESS_DEFAULT_ALLOW, a group's list): parsed here,
// below the egress policy, so configuration can check them without depending on the boundary that enforces them.
import { isIP } from 'node:net';

/**
 * A sensible list for reading the web (reference sites, code hosting, package indexes, weather) — all read-only
 * for an anonymous client. CARAPACE_EGRESS_DEFAULT_ALLOW replaces it; a group's own list replaces it for that group.
 */
export const DEFAULT_ALLOWLIST = [
  '*.wikipedia.org', '*.wikimedia.org', '*.wiktionary.org', 'html.duckduckgo.com', 'archive.org', 'web.archive.org',
  'github.com', 'api.github.com', 'raw.githubusercontent.com', 'registry.npmjs.org', 'pypi.org', 'files.pythonhosted.org',
  'developer.mozilla.org', 'docs.python.org', 'stackoverflow.com', 'api.open-meteo.com',
];

export interface DomainRule {
  /** Lower-case host name or IP literal (IPv6 without brackets). */
  host: string;
  /** `*.example.com`: any subdomain of example.com (not example.com itself). */
  wildcard: boolean;
  /** Undefined: the default ports. */
  port?: number;
}

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
const isHostname = (h: string) => h.length <= 253 && h.split('.').every((l) => LABEL.test(l));

/** Parse one allowlist entry: `example.com`, `*.example.com`, `example.com:8443`, `203.0.113.7`, `[2001:db8::1]:443`. */
export function parseDomainRule(entry: string): DomainRule {
  const fail = (why: string): never => {
    throw new Error(`invalid allowed domain ${JSON.stringify(entry)}: ${why}`);
  };
  let rest = entry.trim().toLowerCase();
  let port: number | undefined;
  const v6 = /^\[([0-9a-f:.]+)\](?::(\d+))?$/.exec(rest);
  if (v6) {
    rest = v6[1];
    if (v6[2]) port = Number(v6[2]);
  } else {
    const m = /^(.*):(\d+)$/.exec(rest);
    if (m) {
      rest = m[1];
      port = Number(m[2]);
    }
  }
  if (port !== undefined && !(Number.isInteger(port) && port >= 1 && port <= 65535)) fail('port must be 1–65535');
  const wildcard = rest.startsWith('*.');
  if (wildcard) rest = rest.slice(2);
  rest = rest.replace(/\.$/, '');
  if (isIP(rest)) {
    if (wildcard) fail('an IP address cannot have a wildcard');
  } else if (!isHostname(rest)) {
    fail('use a host name like example.com or *.example.com, optionally with :port');
  } else if (wildcard && !rest.includes('.')) {
    fail('a wildcard needs a domain below the top level, like *.example.com');
  }
  return { host: rest, wildcard, port };
}

/** Parse a whole list; throws on the first bad entry, naming it. */
export const parseAllowlist = (entries: readonly string[]): DomainRule[] => entries.map(parseDomainRule);
