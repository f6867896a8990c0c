// The Slack and Discord skills' rehearsals, against the fake platforms at the wire: the tokens are saved from the
// files the skill names, the owner sends the pairing code in a DM, says "register #channel" in that DM (the fake
// model's cue to call register_group), and a mention in the channel is answered through the real sandbox.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultScript, toolUse, type Script } from '../../test/support/fake-anthropic.js';
import { BOT, FakeDiscord, message, TOKEN as DISCORD_TOKEN, type FakeUser } from '../../test/support/fake-discord.js';
import { APP_TOKEN, BOT_TOKEN, FakeSlack } from '../../test/support/fake-slack.js';
import { until } from '../../test/support/wait.js';
import { carapace, temporaryInstall } from './install.js';
import { must, type Scenario } from './rehearse.js';

/** The model registers `chatId` as `folder` when the owner asks with `phrase` in the main chat. */
export function registersOn(phrase: string, chatId: string, folder: string, name: string): Script {
  return (req) =>
    !req.isSideRequest && req.toolResults.length === 0 && req.lastUserText.includes(phrase)
      ? { content: [toolUse('mcp__carapace__register_group', { chatId, folder, name })] }
      : defaultScript(req);
}

/** Wait until `folder` is a registered group, as `carapace groups list` shows it. */
export async function untilRegistered(env: Record<string, string>, folder: string, sent: () => unknown): Promise<void> {
  const registered = () => JSON.parse(carapace(env, 'groups', 'list', '--json')).some((g: { folder: string }) => g.folder === folder);
  await until(registered, 60_000, () => `the ${folder} group registered from main (sent: ${JSON.stringify(sent())})`);
}

/** Token files where the skill tells the user to keep them: ~/.config/carapace/<name> (HOME is the install's). */
function tokenFiles(env: Record<string, string>, files: Record<string, string>): void {
  const dir = join(env.HOME, '.config', 'carapace');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const [name, token] of Object.entries(files)) writeFileSync(join(dir, name), `${token}\n`, { mode: 0o600 });
}

const ANSWER = /ECHO:[\s\S]*how are you\?/;

const addSlack: Scenario = {
  skill: 'add-slack',
  title: 'the app is connected, the owner paired, a channel registered and answered through the sandbox',
  async prepare() {
    const slack = new FakeSlack();
    await slack.start();
    const install = await temporaryInstall({ SLACK_API_URL: slack.apiUrl }, registersOn('register #family', 'slack:CFAMILY', 'family', '#family'));
    tokenFiles(install.env, { 'slack-app-token': APP_TOKEN, 'slack-bot-token': BOT_TOKEN });
    await install.start();
    const postedTo = (channel: string) => slack.posted.filter((p) => p.channel === channel);
    return {
      env: install.env,
      cwd: install.dataDir,
      async after(index, vars) {
        if (index === 1) {
          slack.message({ channel: 'DOWNER', user: 'UOWNER', text: vars.PAIR_CODE });
          await until(() => postedTo('DOWNER').length >= 1, 30_000, () => 'the pairing confirmation');
        }
        if (index === 2) {
          slack.message({ channel: 'CFAMILY', user: 'UBOB', text: 'hi all' }); // the bot was invited: main hears of the channel
          slack.message({ channel: 'DOWNER', user: 'UOWNER', text: 'register #family' });
          await untilRegistered(install.env, 'family', () => slack.posted);
        }
      },
      async verify() {
        slack.message({ channel: 'CFAMILY', user: 'UBOB', text: '<@UBOT> how are you?' });
        const [answer] = await until(() => postedTo('CFAMILY').length >= 1 && postedTo('CFAMILY'), 60_000, () => 'an answer in #family');
        must(ANSWER.test(answer.text), `the channel's answer was not the agent's: ${answer.text}`);
      },
      async close() {
        await install.close();
        await slack.close();
      },
    };
  },
};

const GUILD = '700000000000000001';
const GENERAL = '710000000000000001';
const OWNER_DM = '720000000000000001';
const OLGA: FakeUser = { id: '800000000000000001', username: 'olga', global_name: 'Olga' };
const BOB: FakeUser = { id: '800000000000000002', username: 'bob', global_name: 'Bob' };

const addDiscord: Scenario = {
  skill: 'add-discord',
  title: 'the bot is connected, the owner paired, a channel registered and answered through the sandbox',
  async prepare() {
    const discord = await new FakeDiscord().start();
    discord.guilds = [{ id: GUILD, name: 'Home', channels: [{ id: GENERAL, name: 'general' }] }]; // the invite was accepted
    const install = await temporaryInstall({ DISCORD_API_URL: discord.apiUrl }, registersOn('register #general', `dc:${GENERAL}`, 'general', '#general'));
    tokenFiles(install.env, { 'discord-token': DISCORD_TOKEN });
    await install.start();
    const dm = (content: string) => discord.dispatch('MESSAGE_CREATE', message({ id: discord.snowflake(), channel_id: OWNER_DM, author: OLGA, content }));
    return {
      env: install.env,
      cwd: install.dataDir,
      async after(index, vars) {
        if (index === 1) {
          dm(vars.PAIR_CODE);
          await until(() => discord.texts(OWNER_DM).length >= 1, 30_000, () => 'the pairing confirmation');
        }
        if (index === 2) {
          dm('register #general');
          await untilRegistered(install.env, 'general', () => discord.texts());
        }
      },
      async verify() {
        const content = `<@${BOT.id}> how are you?`;
        discord.dispatch('MESSAGE_CREATE', message({ id: discord.snowflake(), channel_id: GENERAL, guild_id: GUILD, author: BOB, content, mentions: [BOT] }));
        const [answer] = await until(() => discord.texts(GENERAL).length >= 1 && discord.texts(GENERAL), 60_000, () => 'an answer in #general');
        must(ANSWER.test(answer), `the channel's answer was not the agent's: ${answer}`);
      },
      async close() {
        await install.close();
        await discord.close();
      },
    };
  },
};

export const CHANNEL_SCENARIOS: Scenario[] = [addSlack, addDiscord];
