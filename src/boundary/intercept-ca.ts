// The per-install certificate authority the egress proxy signs its interception certificates with (only for
// hosts a group holds a secret for). Made on first use with node-forge; its key stays in the vault directory
// (0600, never mounted), its certificate goes into sandboxes as part of a trust bundle.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { lstatSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { createRequire } from 'node:module';
import type Forge from 'node-forge';

// node-forge is loaded the first time a certificate is made: an install without secrets never pays its ~11 MB.
let loaded: typeof Forge | undefined;
const forgeLib = (): typeof Forge => (loaded ??= createRequire(import.meta.url)('node-forge') as typeof Forge);

export interface InterceptCa {
  certPem: string;
  /** Public roots plus this CA: what sandboxes trust (their own bundle would not include the CA). */
  trustBundle: string;
  /** A certificate for `host` signed by the CA, with the key it certifies (cached per host). */
  leaf(host: string): { cert: string; key: string };
}

const YEAR_MS = 365 * 24 * 3600 * 1000;
/** Leaves are valid 30 days and re-signed after one, so a long-running host never serves an expired one. */
const LEAF_REUSE_MS = 24 * 3600 * 1000;

const cas = new Map<string, InterceptCa>();
/** The CA of the vault in `dir`, loaded once per process. */
export const interceptCa = (dir: string): InterceptCa => cas.get(dir) ?? cas.set(dir, loadInterceptCa(dir)).get(dir)!;

const rsaPem = () =>
  generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });

function certificate(subjectCn: string, publicPem: string, validMs: number): Forge.pki.Certificate {
  const cert = forgeLib().pki.createCertificate();
  cert.publicKey = forgeLib().pki.publicKeyFromPem(publicPem);
  cert.serialNumber = '01' + randomBytes(15).toString('hex'); // positive, unique
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + validMs);
  cert.setSubject([{ name: 'commonName', value: subjectCn }]);
  return cert;
}

function createCa(certPath: string, keyPath: string, name: string): void {
  const keys = rsaPem();
  const cert = certificate(name, keys.publicKey, 10 * YEAR_MS);
  cert.setIssuer(cert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(forgeLib().pki.privateKeyFromPem(keys.privateKey), forgeLib().md.sha256.create());
  // The key is written last: its presence marks a complete CA (a stale certificate from a crash is replaced).
  writeFileSync(certPath, forgeLib().pki.certificateToPem(cert), { mode: 0o644 });
  writeFileSync(keyPath, keys.privateKey, { flag: 'wx', mode: 0o600 });
}

/** Load the install's CA from `dir`, making it on first use; a key file others could read is refused. */
export function loadInterceptCa(dir: string, name = 'Carapace egress interception CA'): InterceptCa {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const certPath = join(dir, 'ca.pem');
  const keyPath = join(dir, 'ca-key.pem');
  try {
    lstatSync(keyPath);
  } catch {
    createCa(certPath, keyPath, name);
  }
  const st = lstatSync(keyPath);
  if (!st.isFile() || (st.mode & 0o077) !== 0) throw new Error(`${keyPath} must be a regular file only its owner can read (chmod 600)`);
  const certPem = readFileSync(certPath, 'utf8');
  const caCert = forgeLib().pki.certificateFromPem(certPem);
  const caKey = forgeLib().pki.privateKeyFromPem(readFileSync(keyPath, 'utf8'));
  const leafKeys = rsaPem(); // one key for every leaf of this process: certificates differ, the key need not
  const leaves = new Map<string, { cert: string; key: string; madeAt: number }>();
  const sign = (host: string) => {
    const cert = certificate(host, leafKeys.publicKey, 30 * 24 * 3600 * 1000);
    cert.setIssuer(caCert.subject.attributes);
    const altName = isIP(host) ? { type: 7, ip: host } : { type: 2, value: host };
    cert.setExtensions([
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [altName] },
    ]);
    cert.sign(caKey, forgeLib().md.sha256.create());
    return { cert: forgeLib().pki.certificateToPem(cert), key: leafKeys.privateKey, madeAt: Date.now() };
  };
  return {
    certPem,
    trustBundle: [...rootCertificates, certPem].join('\n'),
    leaf: (host) => {
      const cached = leaves.get(host);
      if (cached && Date.now() - cached.madeAt < LEAF_REUSE_MS) return cached;
      const fresh = sign(host);
      leaves.set(host, fresh);
      return fresh;
    },
  };
}
