// Every way a turn can fail reaches the chat it concerns, with the reason and what to do: real bubblewrap
// sandboxes, the real SDK, the fake model API answering each chat's message with that chat's failure.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BwrapRuntime } from '../src/sandbox/bwrap.js';
import type { SandboxSpec } from '../src/sandbox/runtime.js';
import { defaultScript, toolUse, type Script } from './support/fake-anthropic.js';
import { startHarness, type Harness } from './support/harness.js';
import { addGroup, logLines, newestMessage, sayIn } from './support/scenario.js';
import { until } from './support/wait.js';

/** bubblewrap, except that sandboxes of the group `nosandbox` are refused, as a broken backend would. */
class RefusingRuntime extends BwrapRuntime {
  override async start(spec: SandboxSpec) {
    if (spec.labels['carapace.group'] === 'nosandbox') throw new Error('bwrap: setting up uid map: Permission denied');
    return super.start(spec);
  }
}

const apiError = (status: number, type: string, message: string) => ({ error: { status, type, message } });

/** Each chat's message names the failure the model API plays for it. */
const script: Script = (req) => {
  if (req.toolResults.length > 0) return { content: [{ type: 'text', text: 'done with the tool' }] };
  const said = newestMessage(req.lastUserText);
  if (said.includes('key401')) return apiError(401, 'authentication_error', 'invalid x-api-key');
  if (said.includes('key403')) return apiError(403, 'permission_error', 'this organisation cannot use this model');
  if (said.includes('crash')) return apiError(500, 'api_error', 'internal server error');
  if (req.isSideRequest) return defaultScript(req);
  if (said.includes('fetch')) return { content: [toolUse('Bash', { command: 'curl -sS --max-time 10 https://blocked.example/', description: 'fetch' })] };
  return defaultScript(req);
};

const FAILURES: { kind: string; folder: string; message: string; expected: RegExp; maxMs?: number; runs?: number }[] = [
  {
    kind: 'the API rejects the key (401)',
    folder: 'k401',
    message: 'key401',
    expected: /^⚠️ I can't answer: the model API rejected the key or token \(HTTP 401.*Fix: put a valid ANTHROPIC_API_KEY.*`carapace setup`.*restart Carapace\.$/,
    maxMs: 10_000,
    runs: 1,
  },
  {
    kind: 'the API refuses the key (403)',
    folder: 'k403',
    message: 'key403',
    expected: /^⚠️ I can't answer: the model API refused this key or token \(HTTP 403.*Fix: .*ANTHROPIC_API_KEY/,
    maxMs: 10_000,
    runs: 1,
  },
  { kind: 'a turn fails every attempt', folder: 'crash', message: 'crash', expected: /^⚠️ Sorry, I couldn't answer that: the agent failed 3 times \(.*\)\. Send the message again to retry; .*`carapace status`/ },
  {
    kind: 'the sandbox is refused',
    folder: 'nosandbox',
    message: 'hello',
    expected: /^⚠️ Sorry, I couldn't answer that: the agent failed 3 times \(could not start sandbox: bwrap: setting up uid map: Permission denied\)\. The sandbox would not start: run `carapace doctor`/,
  },
  { kind: 'the daily budget is spent', folder: 'broke', message: 'hello', expected: /^⚠️ This chat has nearly used its daily model budget \(0 of 1 tokens.*can't answer until .*The owner can raise the budget\.$/, runs: 1 },
  {
    kind: 'egress is denied',
    folder: 'offline',
    message: 'fetch',
    expected: /^🔒 The agent was blocked from reaching blocked\.example:443 \(blocked\.example:443 is not on this chat's allowed list; this chat is set to never ask the owner\)\. If it should reach that site, ask the assistant in the main chat/,
  },
];

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ script, runtime: (stateDir) => new RefusingRuntime({ stateDir }) });
});
afterAll(() => h?.close());

describe('failures reach the chat they concern, with the reason and the fix', () => {
  it('tells each chat what failed and what to do', async () => {
    const started = performance.now();
    for (const f of FAILURES) {
      // 'offline' never asks the owner (no card), so its chat hears of the refusal itself.
      const containerConfig = f.folder === 'broke' ? { dailyTokenBudget: 1 } : f.folder === 'offline' ? { egressNeverAsk: true } : {};
      addGroup(h, f.folder, { containerConfig });
      sayIn(h, `local:${f.folder}`, f.message);
    }
    await Promise.all(
      FAILURES.map(async (f) => {
        const chat = `local:${f.folder}`;
        const note = await until(
          () => h.app.store.recentMessages(chat, 20).find((m) => m.fromAssistant && /^(⚠️|🔒)/.test(m.text))?.text,
          40_000,
          () => `a note in ${chat} (${f.kind}); log: ${h.logFile}`,
        );
        expect(note, f.kind).toMatch(f.expected);
        if (f.maxMs) expect(performance.now() - started, f.kind).toBeLessThan(f.maxMs);
        const group = h.app.store.listGroups().find((g) => g.folder === f.folder)!;
        const runs = h.app.store.recentRuns(100).filter((r) => r.groupId === group.id);
        if (f.runs !== undefined) expect(runs.length, `${f.kind}: runs`).toBe(f.runs);
      }),
    );
    // The refused credential is in the log too, once per run, naming the fix.
    expect(logLines(h).filter((l) => /HTTP 401.*carapace setup/.test(l.msg ?? '')).length).toBeGreaterThanOrEqual(1);
  });
});
