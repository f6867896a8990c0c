// What a run needs for its group's granted secrets: an interceptor for its egress proxy, the CA trust files in
// its run directory (mounted read-only at /ipc), and the environment the agent sees: placeholders only.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { IPC_MOUNT } from '../ipc/protocol.js';
import { interceptCa } from './intercept-ca.js';
import { placeholder, type Secret } from './secret-vault.js';
import { createInterceptor, type Interceptor, type LeakReport } from './tls-intercept.js';

export interface SecretWiringOptions {
  /** The group's granted secrets, read fresh on each request. */
  secrets: () => Secret[];
  vaultDir: string;
  /** The run directory (host side of /ipc). */
  runDir: string;
  upstreamCaFile?: string;
  log: Logger;
  onLeak?: (leak: LeakReport) => void;
}

/** Trust files inside the sandbox: the CA alone (Node adds it to its roots) and public roots plus the CA. */
const CA_FILE = 'ca.pem';
const BUNDLE_FILE = 'ca-bundle.pem';

/** Nothing when the group holds no secret: its HTTPS is tunnelled untouched and no CA is trusted. */
export function secretWiring(opts: SecretWiringOptions): { intercept?: Interceptor; env: Record<string, string> } {
  const granted = opts.secrets();
  if (granted.length === 0) return { env: {} };
  const ca = interceptCa(opts.vaultDir);
  writeFileSync(join(opts.runDir, CA_FILE), ca.certPem, { mode: 0o644 });
  writeFileSync(join(opts.runDir, BUNDLE_FILE), ca.trustBundle, { mode: 0o644 });
  const intercept = createInterceptor({
    secrets: opts.secrets,
    ca,
    upstreamCa: opts.upstreamCaFile ? readFileSync(opts.upstreamCaFile, 'utf8') : undefined,
    log: opts.log,
    onLeak: opts.onLeak,
  });
  const bundle = `${IPC_MOUNT}/${BUNDLE_FILE}`;
  const env: Record<string, string> = {
    NODE_EXTRA_CA_CERTS: `${IPC_MOUNT}/${CA_FILE}`,
    SSL_CERT_FILE: bundle,
    CURL_CA_BUNDLE: bundle,
    REQUESTS_CA_BUNDLE: bundle,
    GIT_SSL_CAINFO: bundle,
  };
  for (const s of granted) env[s.env] = placeholder(s.name);
  return { intercept, env };
}
