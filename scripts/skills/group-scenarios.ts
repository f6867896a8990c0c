// The manage-mounts and manage-egress rehearsals: a Family group on a fake Telegram, its settings changed by the
// skill's commands, and the change proved where it matters, inside the group's next sandboxed run (the folder is
// there and then gone; the agent's allowed_domains tool reports the new list).
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dataPaths } from '../../src/fs/paths.js';
import { openDatabase, openDatabaseReadonly } from '../../src/store/db.js';
import { Store } from '../../src/store/store.js';
import { defaultScript, toolUse, type Script } from '../../test/support/fake-anthropic.js';
import { FakeTelegram, people, supergroup, TOKEN } from '../../test/support/fake-telegram.js';
import { sandboxReadableTempDir } from '../../test/support/harness.js';
import { runCli } from '../../test/support/run-cli.js';
import { until } from '../../test/support/wait.js';
import { carapace, temporaryInstall, type Install } from './install.js';
import { must, type Scenario } from './rehearse.js';

const FAMILY = supergroup(-100333, 'Family');
const MENTION = '@carapace_test_bot';

/** "@bot <cue>" in Family makes the model call `tool` with `input`; its result comes back as "TOOL_DONE: …". */
function onCue(cues: Record<string, [string, Record<string, unknown>]>): Script {
  return (req) => {
    const cue = Object.keys(cues).find((c) => req.lastUserText.includes(c));
    if (req.isSideRequest || req.toolResults.length > 0 || !cue) return defaultScript(req);
    return { content: [toolUse(...cues[cue])] };
  };
}

interface Family {
  install: Install;
  /** Mention the bot in Family with `cue`; resolves to the answer's text. */
  ask(cue: string): Promise<string>;
  /** Wait until no run is live: the group's next message starts a new sandbox. */
  untilIdle(): Promise<void>;
  /** The group's settings, as `carapace groups show family --json` prints them. */
  settings(): Record<string, unknown>;
  close(): Promise<void>;
}

/** A running install whose Family group on a fake Telegram is already registered (add-telegram did that). */
async function familyOnTelegram(script: Script, work: string, moreEnv: Record<string, string> = {}): Promise<Family> {
  const telegram = await new FakeTelegram().start();
  // the owner's home is outside the data directory, which no mount may overlap
  const home = sandboxReadableTempDir('carapace-owner-home-');
  const install = await temporaryInstall({ TELEGRAM_API_ROOT: telegram.url, HOME: home, ...moreEnv }, script);
  const tokenFile = join(work, 'telegram-token');
  writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
  // not the synchronous helper: the fake Telegram in this process must answer the token check
  const added = await runCli(['channel', 'add', 'telegram', '--token-file', tokenFile], { cwd: install.dataDir, env: { ...install.env, PATH: process.env.PATH } });
  must(added.code === 0, `channel add telegram failed: ${added.stderr}`);
  const db = openDatabase(dataPaths(install.dataDir).db);
  new Store(db).registerGroup({ channel: 'tg', chatId: `tg:${FAMILY.id}`, name: 'Family', folder: 'family', trigger: '@Andy', requiresTrigger: true, isMain: false });
  db.close();
  await install.start();
  return {
    install,
    async ask(cue) {
      const before = telegram.sentTo(FAMILY.id).length;
      telegram.receive(FAMILY, people.bob, { text: `${MENTION} ${cue}`, entities: [{ type: 'mention', offset: 0, length: MENTION.length }] });
      const sent = await until(() => telegram.sentTo(FAMILY.id).length > before && telegram.sentTo(FAMILY.id), 60_000, () => `an answer to "${cue}" in Family`);
      return sent[before].text ?? '';
    },
    async untilIdle() {
      const live = () => {
        const db = openDatabaseReadonly(dataPaths(install.dataDir).db);
        try {
          return (db.prepare("SELECT COUNT(*) AS n FROM runs WHERE status = 'running'").get() as { n: number }).n;
        } finally {
          db.close();
        }
      };
      await until(() => live() === 0, 30_000, () => 'the live run to end');
    },
    settings: () => JSON.parse(carapace(install.env, 'groups', 'show', 'family', '--json')),
    async close() {
      await install.close();
      await telegram.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
}

const RECIPE = 'soup: leeks, potatoes, salt';
const READ_RECIPES = 'read the recipes';

const manageMounts: Scenario = {
  skill: 'manage-mounts',
  title: "a host folder is allowed, mounted read-only in the group's next run, then taken away",
  async prepare(work) {
    const family = await familyOnTelegram(onCue({ [READ_RECIPES]: ['Bash', { command: 'cat /workspace/extra/recipes/soup.txt; touch /workspace/extra/recipes/new 2>&1 || true', description: 'read' }] }), work, {
      CARAPACE_IDLE_TIMEOUT_MS: '1000', // a live sandbox keeps the mounts it started with: let it end between the checks
    });
    const recipes = join(family.install.env.HOME, 'Documents', 'recipes'); // the user's folder, under the install's HOME
    mkdirSync(recipes, { recursive: true });
    writeFileSync(join(recipes, 'soup.txt'), `${RECIPE}\n`);
    return {
      env: family.install.env,
      cwd: family.install.dataDir,
      async after(index) {
        if (index !== 1) return;
        const mounts = family.settings().extraMounts as { hostPath: string; readonly: boolean }[];
        must(mounts.length === 1 && mounts[0].readonly, `groups show lists ${JSON.stringify(mounts)}`);
        const answer = await family.ask(READ_RECIPES);
        must(answer.includes(RECIPE), `the run did not see the mounted folder: ${answer}`);
        must(/Read-only file system/.test(answer), `the read-only mount was writable: ${answer}`);
      },
      async verify() {
        must(JSON.stringify(family.settings().extraMounts) === '[]', 'the mount was not taken away');
        await family.untilIdle();
        const answer = await family.ask(READ_RECIPES);
        must(!answer.includes(RECIPE) && /No such file/.test(answer), `the run after removal still saw the folder: ${answer}`);
      },
      close: () => family.close(),
    };
  },
};

const WHICH_SITES = 'which sites may you reach';

/** The JSON a tool returned, from the fake model's "TOOL_DONE: <result>" answer. */
const toolResult = (answer: string) => JSON.parse(answer.replace(/^TOOL_DONE: /, '')) as { allow?: string[]; usesDefault?: boolean };

const manageEgress: Scenario = {
  skill: 'manage-egress',
  title: "a group's domain list and never-ask are set, seen by the group's next run, then put back",
  async prepare(work) {
    const family = await familyOnTelegram(onCue({ [WHICH_SITES]: ['mcp__carapace__allowed_domains', {}] }), work);
    return {
      env: family.install.env,
      cwd: family.install.dataDir,
      async after(index) {
        if (index !== 1) return;
        const settings = family.settings();
        must(JSON.stringify(settings.allowedDomains) === '["github.com","*.wikipedia.org"]', `allowedDomains is ${JSON.stringify(settings.allowedDomains)}`);
        must(settings.askForWebAccess === false, `askForWebAccess is ${settings.askForWebAccess}`);
        const answer = await family.ask(WHICH_SITES);
        const seen = toolResult(answer);
        must(JSON.stringify(seen.allow) === '["github.com","*.wikipedia.org"]' && seen.usesDefault === false, `the run's list is not the new one: ${answer}`);
      },
      async verify() {
        const settings = family.settings();
        must(settings.allowedDomains === null && settings.askForWebAccess === true, `not back to the defaults: ${JSON.stringify(settings)}`);
        const answer = await family.ask(WHICH_SITES);
        must(toolResult(answer).usesDefault === true, `the run after the reset does not use the default list: ${answer}`);
      },
      close: () => family.close(),
    };
  },
};

export const GROUP_SCENARIOS: Scenario[] = [manageMounts, manageEgress];
