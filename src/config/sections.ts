// The parts of the configuration with rules of their own: egress and WhatsApp.
import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import { DEFAULT_ALLOWLIST, parseDomainRule } from './domain-rules.js';
import { ConfigError, flag, int, list, type Env } from './env.js';
import type { Config, WhatsAppConfig } from './types.js';

export function egressConfig(env: Env): Config['egress'] {
  // Set but empty means "no web access by default"; unset means the built-in list.
  const defaultAllow = env.CARAPACE_EGRESS_DEFAULT_ALLOW === undefined ? DEFAULT_ALLOWLIST : list(env.CARAPACE_EGRESS_DEFAULT_ALLOW);
  for (const entry of defaultAllow) {
    try {
      parseDomainRule(entry);
    } catch (err) {
      throw new ConfigError(`CARAPACE_EGRESS_DEFAULT_ALLOW: ${(err as Error).message}`);
    }
  }
  const privateAllow = list(env.CARAPACE_EGRESS_PRIVATE_ALLOW ?? '');
  for (const entry of privateAllow) {
    const m = /^(.+):(\d+)$/.exec(entry);
    if (!m || !isIP(m[1]) || Number(m[2]) < 1 || Number(m[2]) > 65535)
      throw new ConfigError(`CARAPACE_EGRESS_PRIVATE_ALLOW entries are ip:port (e.g. 192.168.1.20:8123), got "${entry}".`);
  }
  const upstreamCaFile = env.CARAPACE_EGRESS_UPSTREAM_CA || undefined;
  if (upstreamCaFile && !existsSync(upstreamCaFile)) throw new ConfigError(`CARAPACE_EGRESS_UPSTREAM_CA: no file at ${upstreamCaFile}.`);
  // How long a request to an unlisted host waits for the owner's answer before it fails closed.
  const approvalTimeoutMs = int(env, 'CARAPACE_EGRESS_APPROVAL_TIMEOUT_SECONDS', 120, 1) * 1000;
  return { defaultAllow: [...defaultAllow], privateAllow, upstreamCaFile, approvalTimeoutMs };
}

export function whatsappConfig(env: Env): WhatsAppConfig {
  const ownNumber = flag(env, 'WHATSAPP_OWN_NUMBER') ?? false;
  const mainChat = (env.WHATSAPP_MAIN_CHAT?.trim() || (ownNumber ? '' : 'self')).replace(/^\+/, '');
  if (!mainChat) {
    throw new ConfigError(
      'WHATSAPP_OWN_NUMBER=1 needs WHATSAPP_MAIN_CHAT: the owner\'s phone number (e.g. 4915112345678) or a group id (…@g.us), ' +
        'or "none" to keep the main chat elsewhere.',
    );
  }
  if (!/^(self|none|\d{6,15}|[\d-]{6,40}@g\.us)$/.test(mainChat) || (ownNumber && mainChat === 'self')) {
    throw new ConfigError(
      `WHATSAPP_MAIN_CHAT must be ${ownNumber ? '' : '"self", '}a phone number with country code (digits), a group id ending in @g.us, ` +
        `or "none"; got "${env.WHATSAPP_MAIN_CHAT}".`,
    );
  }
  return {
    enabled: flag(env, 'WHATSAPP_ENABLED') ?? 'auto',
    ownNumber,
    mainChat,
    maxMediaBytes: int(env, 'WHATSAPP_MEDIA_MAX_MB', 50, 1) * 1024 * 1024,
    sendPerMinute: int(env, 'WHATSAPP_SEND_PER_MINUTE', 20, 1),
    sendBurst: int(env, 'WHATSAPP_SEND_BURST', 5, 1),
  };
}
