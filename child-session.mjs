// An SDK session reading prompts from stdin lines (one per turn).
import { query } from '@anthropic-ai/claude-agent-sdk';
import { createInterface } from 'node:readline';
const queue = []; let wake;
const rl = createInterface({ input: process.stdin });
rl.on('line', (l) => { queue.push(l); wake?.(); });
async function* prompts() {
  for (;;) {
    while (!queue.length) await new Promise((r) => (wake = r));
    const text = queue.shift();
    yield { type: 'user', message: { role: 'user', content: text }, parent_tool_use_id: null, session_id: '' };
  }
}
const options = { cwd: process.env.HOME, model: process.env.BENCH_MODEL || undefined, permissionMode: 'bypassPermissions', allowDangerouslySkipPermissions: true, settingSources: [], systemPrompt: { type: 'preset', preset: 'claude_code' }, env: { ...process.env } };
for await (const m of query({ prompt: prompts(), options })) if (m.type === 'result') process.stdout.write('R\n');
