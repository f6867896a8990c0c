// What each rehearsed skill must achieve, with the user's part played between its blocks: sessions exports and
// resumes a conversation; add-telegram ends with a paired owner and a group message answered through the real
// sandbox; update merges a synthetic upstream commit into a customised copy, and rolls back a failing one;
// debug's overview runs on a fresh install; setup ends with a reply in the local chat. Slack and Discord are in
// channel-scenarios.ts, mounts and egress in group-scenarios.ts.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dmWith, FakeTelegram, people, supergroup, TOKEN } from '../../test/support/fake-telegram.js';
import { until } from '../../test/support/wait.js';
import { CHANNEL_SCENARIOS, registersOn, untilRegistered } from './channel-scenarios.js';
import { commandExists } from './commands.js';
import { GROUP_SCENARIOS } from './group-scenarios.js';
import { temporaryInstall } from './install.js';
import { must, readText, type Scenario } from './rehearse.js';
import { updateScenario } from './update-scenario.js';

const sessions: Scenario = {
  skill: 'sessions',
  title: 'a conversation is listed, exported, cleared and resumed',
  async prepare(work) {
    const install = await temporaryInstall();
    await install.start();
    await install.sayAndWait('remember the word pineapple', 1);
    await install.stop(); // clear and resume need Carapace stopped (the skill says so)
    return {
      env: { ...install.env, EXPORT_DIR: work },
      cwd: install.dataDir,
      async verify(vars) {
        must(readText(join(work, 'conversation.md')).includes('remember the word pineapple'), 'the export lacks the conversation');
        await install.start();
        await install.sayAndWait('what was the word?', 2);
        const last = install.model.requests.filter((r) => r.kind === 'main').at(-1);
        const history = JSON.stringify(last?.body?.messages ?? []);
        must(history.includes('pineapple') && history.includes('what was the word?'), `the resumed session ${vars.SESSION} did not carry the earlier conversation`);
      },
      close: () => install.close(),
    };
  },
};

const FAMILY = supergroup(-100222, 'Family');

const addTelegram: Scenario = {
  skill: 'add-telegram',
  title: 'the bot is added, the owner paired, a group registered and answered through the sandbox',
  async prepare(work) {
    const telegram = await new FakeTelegram().start();
    // the owner's "register the Family group" is the model's cue to call register_group
    const install = await temporaryInstall({ TELEGRAM_API_ROOT: telegram.url }, registersOn('register the Family group', `tg:${FAMILY.id}`, 'family', 'Family'));
    await install.start();
    const tokenFile = join(work, 'telegram-token');
    writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
    const owner = people.olga;
    return {
      env: { ...install.env, TELEGRAM_TOKEN_FILE: tokenFile },
      cwd: install.dataDir,
      async after(index, vars) {
        if (index === 1) {
          telegram.receive(dmWith(owner), owner, { text: vars.PAIR_CODE });
          await until(() => telegram.sentTo(owner.id).length >= 1, 30_000, () => 'the pairing confirmation');
        }
        if (index === 2) {
          telegram.receive(FAMILY, people.bob, { text: 'hi all' }); // the bot was added: main hears of the group
          telegram.receive(dmWith(owner), owner, { text: 'register the Family group' });
          await untilRegistered(install.env, 'family', () => telegram.sent);
        }
      },
      async verify() {
        const mention = '@carapace_test_bot';
        telegram.receive(FAMILY, people.bob, { text: `${mention} how are you?`, entities: [{ type: 'mention', offset: 0, length: mention.length }] });
        const [answer] = await until(() => telegram.sentTo(FAMILY.id).length >= 1 && telegram.sentTo(FAMILY.id), 60_000, () => 'an answer in the Family group');
        must(/ECHO:[\s\S]*how are you\?/.test(answer.text ?? ''), `the group's answer was not the agent's: ${answer.text}`);
      },
      async close() {
        await install.close();
        await telegram.close();
      },
    };
  },
};

const debug: Scenario = {
  skill: 'debug',
  title: "the overview commands answer on a fresh install",
  async prepare() {
    const install = await temporaryInstall();
    return { env: install.env, cwd: install.dataDir, verify: async () => {}, close: () => install.close() };
  },
};

const setup: Scenario = {
  skill: 'setup',
  title: 'setup from a key file, then a reply in the local chat',
  async unavailable() {
    return commandExists('setup') ? undefined : 'carapace setup is not in this build yet (branch wizard)';
  },
  async prepare(work) {
    const install = await temporaryInstall();
    const keyFile = join(work, 'api-key');
    writeFileSync(keyFile, `${install.env.ANTHROPIC_API_KEY}\n`, { mode: 0o600 });
    const { ANTHROPIC_API_KEY: _key, ...env } = install.env; // the key comes from the file, as the skill says
    return {
      env: { ...env, KEY_FILE: keyFile, SETTINGS_FILE: join(install.dataDir, '.env') }, // never the checkout's .env
      cwd: install.dataDir,
      async verify() {
        await install.start();
        const reply = await install.sayAndWait('hello after setup', 1);
        must(reply.includes('hello after setup'), `the first reply was ${reply}`);
      },
      close: () => install.close(),
    };
  },
};

export const SCENARIOS: Scenario[] = [sessions, addTelegram, ...CHANNEL_SCENARIOS, ...GROUP_SCENARIOS, debug, setup, ...updateScenario()];
