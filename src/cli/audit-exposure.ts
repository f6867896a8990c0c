// Audit checks about what agents can reach: the mount allowlist, the egress defaults, and credentials left
// lying around that nothing uses any more.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadMountAllowlist } from '../boundary/mount-allowlist.js';
import { CHANNEL_PLUGINS } from '../channels/registry.js';
import { readPairing } from '../channels/whatsapp/auth.js';
import { dataPaths } from '../fs/paths.js';
import { isWithin } from '../fs/contain.js';
import type { AuditInput, Finding } from './audit-checks.js';

const DOCKER_SOCKETS = ['/var/run/docker.sock', '/run/docker.sock', '/run/podman/podman.sock', '/var/run/podman/podman.sock'];

/** Why an allowlist root is dangerous to offer any agent, or undefined. */
function danger(root: string, input: AuditInput): string | undefined {
  const { config } = input;
  const covers = (p: string) => isWithin(p, root);
  const sock = DOCKER_SOCKETS.find(covers);
  if (sock) return `it contains the container engine's socket ${sock} (root on this host)`;
  if (covers(join(config.homeDir, '.ssh'))) return 'it contains ~/.ssh (the owner’s SSH keys)';
  if (covers(config.dataDir) || isWithin(root, config.dataDir)) return `it overlaps Carapace's own data folder ${config.dataDir}`;
  return undefined;
}

export function mountAllowlist(input: AuditInput): Finding {
  const id = 'mount-allowlist-dangerous';
  const { allowlist } = loadMountAllowlist(input.config.mountAllowlistPath, input.config.homeDir);
  const bad = (allowlist?.allowedRoots ?? []).flatMap((r) => {
    const why = danger(r.path, input);
    return why ? [`${r.path}: ${why}`] : [];
  });
  if (bad.length === 0) return { id, severity: 'high', ok: true, detail: allowlist ? 'no allowed root covers the engine socket, ~/.ssh or the data folder' : 'no mount allowlist: no extra mounts at all' };
  return {
    id,
    severity: 'high',
    ok: false,
    detail: `${input.config.mountAllowlistPath} offers agents: ${bad.join('; ')}`,
    fix: 'narrow those allowedRoots to the folders agents really need',
  };
}

/** Wildcards over hosts where anyone can publish: an agent may send data there, or fetch instructions. */
const SHARED_HOSTING = ['github.io', 'githubusercontent.com', 'amazonaws.com', 'cloudfront.net', 'herokuapp.com', 'vercel.app', 'netlify.app', 'pages.dev', 'workers.dev', 'ngrok.io', 'ngrok-free.app', 'googleusercontent.com', 'appspot.com', 'firebaseapp.com', 'web.app', 'blob.core.windows.net', 'azurewebsites.net', 'glitch.me', 'repl.co', 'pastebin.com'];

function broadEntries(allow: readonly string[]): string[] {
  return allow.filter((e) => {
    const host = e.trim().toLowerCase().replace(/:\d+$/, '');
    return host.startsWith('*.') && SHARED_HOSTING.some((d) => host.slice(2) === d || host.slice(2).endsWith(`.${d}`) || d.endsWith(`.${host.slice(2)}`));
  });
}

export function egressDefaults(input: AuditInput): Finding {
  const { egress } = input.config;
  const problems: string[] = [];
  const broad = broadEntries(egress.defaultAllow);
  if (broad.length) problems.push(`CARAPACE_EGRESS_DEFAULT_ALLOW lets every chat reach anyone's site: ${broad.join(', ')}`);
  if (egress.privateAllow.length) problems.push(`CARAPACE_EGRESS_PRIVATE_ALLOW opens local network services to agents: ${egress.privateAllow.join(', ')}`);
  for (const g of input.groupEgress) {
    const b = broadEntries(g.allow);
    if (b.length) problems.push(`group ${g.folder} allows ${b.join(', ')}`);
  }
  if (problems.length === 0) return { id: 'egress-broad', severity: 'medium', ok: true, detail: `agents reach ${egress.defaultAllow.length} named sites by default, no shared-hosting wildcards, no local services` };
  return { id: 'egress-broad', severity: 'medium', ok: false, detail: problems.join('; '), fix: 'name the exact hosts agents need instead of wildcards over shared hosting, and expose local services only to the groups that need them' };
}

/** Credentials saved for something not in use: a second model credential, a WhatsApp login or bot token unused. */
export function staleCredentials(input: AuditInput, fileEnv: Record<string, string>): Finding {
  const { config } = input;
  const stale: string[] = [];
  if (fileEnv.ANTHROPIC_API_KEY && fileEnv.CLAUDE_CODE_OAUTH_TOKEN)
    stale.push(`${input.envFile} holds both ANTHROPIC_API_KEY and CLAUDE_CODE_OAUTH_TOKEN; only the API key is used — remove the token`);
  const auth = dataPaths(config.dataDir).whatsappAuth;
  if (config.whatsapp.enabled === false && readPairing(auth).paired) stale.push('a WhatsApp login is saved but WhatsApp is switched off — `carapace whatsapp logout`');
  const channels = join(config.dataDir, 'channels');
  const known = new Set(CHANNEL_PLUGINS.map((p) => p.name));
  for (const f of existsSync(channels) ? readdirSync(channels) : []) {
    const name = f.replace(/\.json$/, '');
    if (!known.has(name)) stale.push(`${join(channels, f)} holds a token for "${name}", which this version does not run — delete it`);
  }
  if (stale.length === 0) return { id: 'stale-credentials', severity: 'medium', ok: true, detail: 'no saved credential is left unused' };
  return { id: 'stale-credentials', severity: 'medium', ok: false, detail: stale.join('; '), fix: 'remove the unused credentials as said' };
}
