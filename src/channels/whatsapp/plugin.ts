// WhatsApp as the channel registry sees it: when it is on, and how to build it. Kept free of Baileys, which takes
// a while to import and is loaded only when WhatsApp is used.
import type { Logger } from 'pino';
import type { Config } from '../../config.js';
import { dataPaths } from '../../fs/paths.js';
import type { ChannelPlugin } from '../channel.js';
import { readPairing } from './auth.js';
import type { WhatsAppChannelOptions } from './whatsapp-channel.js';

/** WHATSAPP_ENABLED=1 connects (and shows a QR code until paired); unset, WhatsApp is on once paired. */
export function whatsappEnabled(config: Config): boolean {
  const { enabled } = config.whatsapp;
  return enabled === 'auto' ? readPairing(dataPaths(config.dataDir).whatsappAuth).paired : enabled;
}

/** The WhatsApp channel's settings for this install (its login lives in the data directory). */
export function whatsappOptions(config: Config, log: Logger): WhatsAppChannelOptions {
  const paths = dataPaths(config.dataDir);
  const { ownNumber, mainChat, maxMediaBytes, sendPerMinute, sendBurst } = config.whatsapp;
  return {
    authDir: paths.whatsappAuth,
    lockFile: paths.whatsappLock,
    assistantName: config.assistantName,
    log,
    ownNumber,
    mainChat,
    maxMediaBytes,
    sendPerMinute,
    sendBurst,
  };
}

export const whatsappPlugin: ChannelPlugin = {
  name: 'whatsapp',
  enabled: whatsappEnabled,
  async create(config, log) {
    const { WhatsAppChannel } = await import('./whatsapp-channel.js');
    return new WhatsAppChannel(whatsappOptions(config, log));
  },
};
