// What a sandbox may reach on the web: a per-group list of domain rules, and addresses it may never reach
// whatever the rules say (loopback, private networks, link-local and cloud metadata services).
import { BlockList, isIP } from 'node:net';
import type { DomainRule } from '../config/domain-rules.js';

export { DEFAULT_ALLOWLIST, parseAllowlist, parseDomainRule, type DomainRule } from '../config/domain-rules.js';

/** Ports a rule without an explicit port opens: plain HTTP and HTTPS. */
const DEFAULT_PORTS = [80, 443];

/** Normalise a requested host: lower case, no trailing dot, no IPv6 brackets. */
export function normalizeHost(host: string): string {
  return host.toLowerCase().replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '');
}

/** Does some rule allow `host:port`? */
export function allows(rules: readonly DomainRule[], host: string, port: number): boolean {
  const h = normalizeHost(host);
  return rules.some((r) => {
    const hostOk = r.wildcard ? h.endsWith('.' + r.host) : h === r.host;
    return hostOk && (r.port === undefined ? DEFAULT_PORTS.includes(port) : r.port === port);
  });
}

// Destinations no sandbox may reach: the host itself, LANs, link-local (cloud metadata at 169.254.169.254),
// carrier-grade NAT (Alibaba metadata at 100.100.100.200), multicast and reserved space.
// Separate lists: a BlockList also matches IPv4 addresses against IPv4-mapped IPv6 rules.
const forbidden4 = new BlockList();
const forbidden6 = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24],
  ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) forbidden4.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [
  // ::/96 holds ::, ::1 and IPv4-compatible forms; ::ffff:0:0/96 catches mapped forms embeddedIPv4 does not parse.
  ['::', 96], ['::ffff:0:0', 96], ['fc00::', 7], ['fe80::', 10], ['fec0::', 10], ['ff00::', 8], ['2001:db8::', 32], ['100::', 64],
] as const) forbidden6.addSubnet(net, bits, 'ipv6');

/** The IPv4 address hidden in an IPv4-mapped, IPv4-compatible or NAT64 IPv6 address, if any. */
function embeddedIPv4(ip: string): string | undefined {
  const dotted = /^(?:::ffff:|::|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (dotted) return dotted[1];
  const hex = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(ip);
  if (!hex) return undefined;
  const [hi, lo] = [parseInt(hex[1], 16), parseInt(hex[2], 16)];
  return [hi >> 8, hi & 255, lo >> 8, lo & 255].join('.');
}

/** Why a sandbox may not connect to this IP, or undefined if it may. */
export function forbiddenReason(ip: string): string | undefined {
  const family = isIP(ip);
  if (family === 0) return 'not an IP address';
  const v4 = family === 6 ? embeddedIPv4(ip) : ip;
  const [addr, type] = v4 ? [v4, 'ipv4' as const] : [ip, 'ipv6' as const];
  if (!(type === 'ipv4' ? forbidden4 : forbidden6).check(addr, type)) return undefined;
  if (type === 'ipv4') {
    if (addr.startsWith('127.') || addr.startsWith('0.')) return 'loopback';
    if (addr.startsWith('169.254.')) return 'link-local (cloud metadata)';
  } else if (addr === '::1' || addr === '::') return 'loopback';
  else if (/^fe[89ab]/i.test(addr)) return 'link-local';
  return 'private or reserved address';
}
