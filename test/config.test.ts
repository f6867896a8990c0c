import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, readEnv } from '../src/config.js';

const BIN = join(import.meta.dirname, '..', 'bin', 'carapace.js');

describe('configuration', () => {
  it('says exactly what to set when no credentials are configured', () => {
    expect(() => loadConfig({})).toThrow(ConfigError);
    expect(() => loadConfig({})).toThrow(/Set ANTHROPIC_API_KEY .* or CLAUDE_CODE_OAUTH_TOKEN/);
  });

  it('has working defaults once a key is set', () => {
    const c = loadConfig({ ANTHROPIC_API_KEY: 'k', TZ: 'Europe/Paris' });
    expect(c.assistantName).toBe('Andy');
    expect(c.maxSandboxes).toBe(5);
    expect(c.timeZone).toBe('Europe/Paris');
    expect(c.upstreamUrl).toBe('https://api.anthropic.com');
    expect(c.credentials).toEqual({ apiKey: 'k', oauthToken: undefined });
  });

  it('configures egress and the mount allowlist, with safe defaults', () => {
    const c = loadConfig({ ANTHROPIC_API_KEY: 'k', HOME: '/home/owner' });
    expect(c.mountAllowlistPath).toBe('/home/owner/.config/carapace/mount-allowlist.json');
    expect(c.egress.defaultAllow).toContain('*.wikipedia.org');
    expect(c.egress.privateAllow).toEqual([]);
    expect(c.egress.approvalTimeoutMs).toBe(120_000); // an unanswered approval card fails closed after 2 minutes
    const d = loadConfig({
      ANTHROPIC_API_KEY: 'k',
      CARAPACE_EGRESS_DEFAULT_ALLOW: '',
      CARAPACE_EGRESS_PRIVATE_ALLOW: '192.168.1.20:8123, ::1:3000',
      CARAPACE_MOUNT_ALLOWLIST: '/etc/carapace/mounts.json',
      CARAPACE_EGRESS_APPROVAL_TIMEOUT_SECONDS: '30',
    });
    expect(d.egress).toEqual({ defaultAllow: [], privateAllow: ['192.168.1.20:8123', '::1:3000'], approvalTimeoutMs: 30_000 });
    expect(() => loadConfig({ ANTHROPIC_API_KEY: 'k', CARAPACE_EGRESS_APPROVAL_TIMEOUT_SECONDS: '0' })).toThrow(/CARAPACE_EGRESS_APPROVAL_TIMEOUT_SECONDS must be an integer ≥ 1/);
    expect(d.mountAllowlistPath).toBe('/etc/carapace/mounts.json');
    expect(() => loadConfig({ ANTHROPIC_API_KEY: 'k', CARAPACE_EGRESS_DEFAULT_ALLOW: 'example.com https://x.org' })).toThrow(
      /CARAPACE_EGRESS_DEFAULT_ALLOW: invalid allowed domain "https:\/\/x.org"/,
    );
    expect(() => loadConfig({ ANTHROPIC_API_KEY: 'k', CARAPACE_EGRESS_PRIVATE_ALLOW: 'nas.local:80' })).toThrow(/ip:port/);
  });

  it('rejects bad values with the variable name', () => {
    expect(() => loadConfig({ ANTHROPIC_API_KEY: 'k', CARAPACE_MAX_SANDBOXES: 'lots' })).toThrow(/CARAPACE_MAX_SANDBOXES must be an integer/);
    expect(() => loadConfig({ ANTHROPIC_API_KEY: 'k', CARAPACE_TZ: 'Mars/Olympus' })).toThrow(/Unknown timezone "Mars\/Olympus"/);
    expect(() => loadConfig({ ANTHROPIC_API_KEY: 'k', ASSISTANT_NAME: '../../etc' })).toThrow(/ASSISTANT_NAME/);
  });

  it('WhatsApp: on once paired by default, self-chat as main, own-number mode needs a main chat', () => {
    const wa = (env: Record<string, string> = {}) => loadConfig({ ANTHROPIC_API_KEY: 'k', ...env }).whatsapp;
    expect(wa()).toEqual({ enabled: 'auto', ownNumber: false, mainChat: 'self', maxMediaBytes: 50 * 1024 * 1024, sendPerMinute: 20, sendBurst: 5 });
    expect(wa({ WHATSAPP_ENABLED: '1', WHATSAPP_MAIN_CHAT: '+4915112345678' })).toMatchObject({ enabled: true, mainChat: '4915112345678' });
    expect(wa({ WHATSAPP_ENABLED: 'off', WHATSAPP_MAIN_CHAT: '120363012345678901@g.us' })).toMatchObject({ enabled: false, mainChat: '120363012345678901@g.us' });
    expect(wa({ WHATSAPP_OWN_NUMBER: '1', WHATSAPP_MAIN_CHAT: '4915112345678' })).toMatchObject({ ownNumber: true });
    expect(() => wa({ WHATSAPP_OWN_NUMBER: '1' })).toThrow(/WHATSAPP_OWN_NUMBER=1 needs WHATSAPP_MAIN_CHAT/);
    expect(() => wa({ WHATSAPP_OWN_NUMBER: '1', WHATSAPP_MAIN_CHAT: 'self' })).toThrow(/WHATSAPP_MAIN_CHAT must be a phone number/);
    expect(() => wa({ WHATSAPP_MAIN_CHAT: 'family' })).toThrow(/WHATSAPP_MAIN_CHAT must be "self"/);
    expect(() => wa({ WHATSAPP_ENABLED: 'maybe' })).toThrow(/WHATSAPP_ENABLED must be 1 or 0/);
    expect(() => wa({ WHATSAPP_MEDIA_MAX_MB: '0' })).toThrow(/WHATSAPP_MEDIA_MAX_MB must be an integer ≥ 1/);
  });

  it('reads .env, and the environment wins over it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'carapace-env-'));
    writeFileSync(join(dir, '.env'), 'ASSISTANT_NAME=Robin\nCARAPACE_MODEL="from-file"\n');
    const env = readEnv(dir, { CARAPACE_MODEL: 'from-env' });
    expect(env.ASSISTANT_NAME).toBe('Robin');
    expect(env.CARAPACE_MODEL).toBe('from-env');
  });
});

describe('carapace command', () => {
  const run = (args: string[], cwd: string) =>
    spawnSync(process.execPath, [BIN, ...args], {
      cwd,
      env: { PATH: process.env.PATH, HOME: cwd, CARAPACE_DATA_DIR: join(cwd, 'data'), CARAPACE_ENV_FILE: join(cwd, '.env') },
      encoding: 'utf8',
    });

  it('start without credentials exits 1 with the instruction, before touching anything', () => {
    const dir = mkdtempSync(join(tmpdir(), 'carapace-cli-'));
    const r = run(['start'], dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/Configuration problem: No model credentials\. Set ANTHROPIC_API_KEY/);
    expect(execFileSync('ls', ['-A', dir]).toString()).toBe('');
  });

  it('status before the first start says how to start; unknown commands show usage', () => {
    const dir = mkdtempSync(join(tmpdir(), 'carapace-cli-'));
    expect(run(['status'], dir).stdout).toMatch(/No data yet at .*: start Carapace with `npm start`/);
    const bad = run(['frobnicate'], dir);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/unknown command 'frobnicate'[\s\S]*carapace help/);
  });
});
