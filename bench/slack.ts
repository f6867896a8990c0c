// Slack overhead, warm: a mention arriving as an events_api envelope on the fake Slack's Socket Mode socket → the
// agent's request at the fake model; and the model's last byte → chat.postMessage at the fake Slack. Through the
// real Bolt App, WebClient, store, queue and bubblewrap sandbox.
import { SlackChannel } from '../src/channels/slack/slack-channel.js';
import { slackOptions } from '../src/channels/slack/plugin.js';
import { APP_TOKEN, BOT_TOKEN, BOT_USER, FakeSlack } from '../test/support/fake-slack.js';
import { startHarness } from '../test/support/harness.js';
import { until } from '../test/support/wait.js';
import { recordMarkSent } from './delivery-window.js';

const SLACK_MESSAGES = Number(process.env.BENCH_SLACK ?? 40);
const WARM_UP = 5;

export async function slackOverhead(): Promise<{ inbound: number[]; outbound: number[]; window: number[] }> {
  const slack = new FakeSlack();
  await slack.start();
  const credentials = { account: '@andy in Fake Team', appToken: APP_TOKEN, botToken: BOT_TOKEN, botUserId: BOT_USER, team: 'Fake Team' };
  const h = await startHarness({
    env: { SLACK_API_URL: slack.apiUrl },
    channels: (config, log) => [new SlackChannel(slackOptions(config, log, credentials))],
  });
  try {
    await until(() => slack.connections === 1, 10_000, () => 'Slack connected');
    h.app.orchestrator.registerGroup({ channel: 'slack', chatId: 'slack:CFAMILY', name: '#family', folder: 'family', trigger: '@Andy', requiresTrigger: true, isMain: false });
    const inbound: number[] = [];
    const outbound: number[] = [];
    const window: number[] = [];
    const marks = recordMarkSent(h.app.store);
    for (let i = 0; i < SLACK_MESSAGES + WARM_UP; i++) {
      const modelRequest = new Promise<number>((resolve) => {
        const off = h.fake.onRequest((r) => r.kind === 'main' && (off(), resolve(r.receivedAt)));
      });
      const sentAt = performance.now();
      slack.message({ channel: 'CFAMILY', user: 'UBOB', text: `<@${BOT_USER}> slack message ${i}` });
      inbound.push((await modelRequest) - sentAt);
      const posted = await until(() => slack.posted[i], 30_000, () => `reply ${i}`);
      outbound.push(posted.at - h.fake.requests.filter((r) => r.kind === 'main').at(-1)!.respondedAt!);
      window.push((await until(() => marks[i], 10_000, () => `row ${i} marked sent`)) - posted.at);
    }
    return { inbound: inbound.slice(WARM_UP), outbound: outbound.slice(WARM_UP), window: window.slice(WARM_UP) }; // the first turns warm the CLI up
  } finally {
    await h.close();
    await slack.close();
  }
}
