// The Slack install's saved credentials (kept free of the Slack libraries: the channel registry reads them).
import type { Config } from '../../config.js';
import { readCredentials, type SavedCredentials } from '../kit/credentials.js';

export interface SlackCredentials extends SavedCredentials {
  appToken: string;
  botToken: string;
  botUserId: string;
  botId?: string;
  team: string;
  teamId?: string;
}

export const slackCredentials = (config: Config) => readCredentials<SlackCredentials>(config.dataDir, 'slack');
