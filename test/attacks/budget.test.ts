// Attack on the daily token budget from inside a real sandbox: the agent takes its run token from /ipc and fires
// a burst of parallel model calls straight at the model proxy socket, each asking for a large answer, hoping the
// calls in flight together spend more than the budget allows. Runs against every sandbox backend.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ATTACK_RUNTIMES, bash } from '../support/attack-runtimes.js';
import { text, type Script } from '../support/fake-anthropic.js';
import { startHarness, type Harness } from '../support/harness.js';
import { until } from '../support/wait.js';
import { addGroup, logLines, repliesIn, sayIn, stepScript } from '../support/scenario.js';
import { MODEL_SOCKET } from '../../src/ipc/protocol.js';
import { totalTokens } from '../../src/store/store.js';

const CALLS = 8;
const CALL_MAX_TOKENS = 40_000;
const CALL_BODY = JSON.stringify({ model: 'claude-race', max_tokens: CALL_MAX_TOKENS, messages: [{ role: 'user', content: 'race-call' }] });
/** What the proxy reserves for one of the burst's calls: max_tokens + body bytes / 4. */
const CALL_RESERVATION = CALL_MAX_TOKENS + Math.ceil(Buffer.byteLength(CALL_BODY) / 4);
/** Node is in every sandbox (it runs the runner): the burst, each answer printed as "<status> <body>". */
const RACE_JS = `
const http = require('http');
const token = require('/ipc/start.json').proxyToken;
const one = () => new Promise((done) => {
  const req = http.request({ socketPath: '${MODEL_SOCKET}', path: '/v1/messages', method: 'POST', headers: { 'x-api-key': token, 'content-type': 'application/json' } }, (res) => {
    let body = '';
    res.on('data', (c) => (body += c));
    res.on('end', () => done(res.statusCode + ' ' + body));
  });
  req.on('error', (e) => done('error ' + e.message));
  req.end(${JSON.stringify(CALL_BODY)});
});
Promise.all(Array.from({ length: ${CALLS} }, one)).then((all) => console.log(all.join('\\n')));
`;

// The burst's calls carry no tools (side requests for the fake): each answers "ok" after a second, so all of
// them are in flight together.
const steps = stepScript({ race: bash(`cat > /tmp/race.js <<'EOF'${RACE_JS}EOF\nnode /tmp/race.js`) });
const script: Script = (req) => (req.isSideRequest && req.lastUserText === 'race-call' ? { content: [text('ok')], delayMs: 1000 } : steps(req));

describe.each(ATTACK_RUNTIMES)('attack: a burst of parallel model calls against the daily budget ($name)', ({ create }) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ runtime: create, script });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('only the calls the budget can cover go out, the rest get the budget error, and the host answers another chat after', async () => {
    let budget = 0;
    // When the agent's own first call is admitted, the budget becomes: that call's reservation + 1,000 + room
    // for three burst calls. After it settles (its 32,000-token answer allowance mostly unused) the fourth burst
    // call still does not fit, because one burst call asks for more than the unused allowance.
    const stop = h.fake.onRequest((r) => {
      if (r.kind !== 'main') return;
      stop();
      budget = r.body.max_tokens + Math.ceil(Buffer.byteLength(JSON.stringify(r.body)) / 4) + 1000 + 3 * CALL_RESERVATION;
      expect(CALL_RESERVATION).toBeGreaterThan(r.body.max_tokens + 1000);
      h.app.store.setContainerConfig(1, { dailyTokenBudget: budget });
    });
    await h.say('race');
    const [reply] = await h.waitForReplies(1, 60_000);
    expect(reply.text).toMatch(/^RESULT race:\n/);
    const answers = reply.text.replace(/^RESULT race:\n/, '').trim().split('\n');
    expect(answers).toHaveLength(CALLS);
    const admitted = answers.filter((a) => a.startsWith('200 '));
    const refused = answers.filter((a) => !a.startsWith('200 '));
    expect(admitted).toHaveLength(3);
    for (const a of refused) {
      expect(a).toMatch(/^403 /);
      expect(JSON.parse(a.slice(4)).error).toMatchObject({ type: 'permission_error', message: expect.stringMatching(/^This chat has nearly used its daily model budget/) });
    }
    expect(h.fake.requests.filter((r) => r.kind === 'side' && r.body?.messages?.[0]?.content === 'race-call')).toHaveLength(3);
    const used = totalTokens(h.app.store.groupUsageSince(1, 0));
    expect(used).toBeLessThanOrEqual(budget);
    expect(logLines(h).filter((l) => /^model proxy: call refused: This chat has nearly used/.test(l.msg))).toHaveLength(CALLS - 3);
    // Every admitted call was settled: no reservation is left holding the budget.
    await until(() => h.app.orchestrator.policy.budget(1).reserved === 0, 10_000, () => 'reservations released');

    // The orchestrator is unharmed: another chat is answered.
    addGroup(h, 'other');
    sayIn(h, 'local:other', 'hello');
    expect(await repliesIn(h, 'local:other', 1)).toEqual(['no step named "hello"']);
  });

  it('refuses to register a group whose container_config is invalid, naming the field', () => {
    expect(() => addGroup(h, 'bad', { containerConfig: { dailyTokenBudget: 0, limits: { pids: 64 } } })).toThrow(
      /container_config of group "bad" is invalid: dailyTokenBudget: /,
    );
    expect(h.app.store.listGroups().some((g) => g.folder === 'bad')).toBe(false);
  });
});
