// The Slack app Carapace needs, as a manifest the owner pastes into "Create an app → From a manifest". Socket Mode,
// so a personal install needs no public URL. Every scope and event is listed with the reason it is there; nothing
// else is asked for.

/** Bot scopes, each with why. */
export const BOT_SCOPES: Record<string, string> = {
  'channels:history': 'read messages in the public channels the bot was invited to',
  'groups:history': 'read messages in the private channels the bot was invited to',
  'im:history': "read the owner's direct messages to the bot (and pairing codes)",
  'mpim:history': 'read group direct messages the bot was added to',
  'channels:read': "learn a public channel's name and that the bot joined it",
  'groups:read': "learn a private channel's name and that the bot joined it",
  'chat:write': 'post replies',
  'chat:write.customize': "show a team member's role as the sender of its replies",
  'files:read': 'download files people share with the bot',
  'files:write': 'send files the agent made',
  'users:read': 'show senders by their display names',
  'reactions:write': 'mark the message being worked on with ⏳ while the agent thinks',
};

/**
 * Bot events, each with why. `app_mention` is not asked for: the message events carry every mention already, and
 * both together would hand each mention over twice.
 */
export const BOT_EVENTS: Record<string, string> = {
  'message.channels': 'messages in public channels the bot is in',
  'message.groups': 'messages in private channels the bot is in',
  'message.im': 'direct messages to the bot',
  'message.mpim': 'group direct messages the bot is in',
  member_joined_channel: 'the bot was invited to a channel: the main chat is told',
};

export function appManifest(assistantName: string): object {
  return {
    display_information: { name: assistantName, description: 'Personal assistant (Carapace)' },
    features: {
      bot_user: { display_name: assistantName, always_online: true },
      app_home: { home_tab_enabled: false, messages_tab_enabled: true, messages_tab_read_only_enabled: false },
    },
    oauth_config: { scopes: { bot: Object.keys(BOT_SCOPES) } },
    settings: {
      event_subscriptions: { bot_events: Object.keys(BOT_EVENTS) },
      interactivity: { is_enabled: false },
      org_deploy_enabled: false,
      socket_mode_enabled: true,
      token_rotation_enabled: false,
    },
  };
}

/** The manifest and the reasons, as `carapace channel add slack` prints them. */
export function manifestText(assistantName: string): string {
  const why = (entries: Record<string, string>) => Object.entries(entries).map(([k, v]) => `  ${k.padEnd(22)} ${v}`);
  return [
    'Create a Slack app from this manifest (api.slack.com/apps → Create New App → From a manifest):',
    '',
    JSON.stringify(appManifest(assistantName), null, 2),
    '',
    'Why each scope:',
    ...why(BOT_SCOPES),
    'Why each event:',
    ...why(BOT_EVENTS),
    '',
    'Then: Basic Information → App-Level Tokens → generate one with connections:write (xapp-…);',
    'Install App → install to your workspace → Bot User OAuth Token (xoxb-…).',
    '',
  ].join('\n');
}
