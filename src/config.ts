// Configuration (layer 2): loaded from the environment and .env; the pieces live in src/config/.
export { ConfigError, readEnv } from './config/env.js';
export { loadConfig } from './config/load.js';
export type { BotChannelsConfig, Config, WhatsAppConfig } from './config/types.js';
