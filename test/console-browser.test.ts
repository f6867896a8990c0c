// The web console in a real browser (Debian's Chromium driven by playwright-core, which downloads nothing) against a
// real Carapace: bwrap sandboxes running the real Agent SDK on the fake Anthropic API. Phone-width viewport;
// screenshots go to test-artifacts/console/. Skipped (with the reason) only where no Chromium is installed, and
// failed instead when CARAPACE_REQUIRE_BROWSER=1 (CI).
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_ROOT } from '../src/app-root.js';
import { changeGroup } from '../src/ops/group-ops.js';
import { text, toolUse, type Script } from './support/fake-anthropic.js';
import { startHarness, type Harness } from './support/harness.js';
import { until } from './support/wait.js';

const CHROMIUM = process.env.CARAPACE_CHROMIUM ?? '/usr/bin/chromium';
const found = existsSync(CHROMIUM);
if (!found && process.env.CARAPACE_REQUIRE_BROWSER === '1') {
  throw new Error(`CARAPACE_REQUIRE_BROWSER=1 but no Chromium at ${CHROMIUM} (apt-get install chromium, or set CARAPACE_CHROMIUM)`);
}
if (!found) console.warn(`console browser tests skipped: no Chromium at ${CHROMIUM} (apt-get install chromium, or set CARAPACE_CHROMIUM)`);

const SHOTS = join(APP_ROOT, 'test-artifacts', 'console');
const TOOL_MARK = 'console-tool-check';

/** Markdown with a hostile payload; a tool call that then hangs (a run to watch and stop); else an echo. */
const script: Script = (req) => {
  if (req.isSideRequest) return { content: [text('side')] };
  if (req.toolResults.some((r) => r.content.includes(TOOL_MARK))) return { hang: true };
  if (req.lastUserText.includes('USE_A_TOOL')) return { content: [toolUse('Bash', { command: `echo ${TOOL_MARK}`, description: 'check' })] };
  if (req.lastUserText.includes('MARKDOWN')) {
    return { content: [text('Here is **bold** and `code`.\n\n- one\n- two\n\n<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>')] };
  }
  return { content: [text(`ECHO: ${req.lastUserText}`)] };
};

describe.skipIf(!found)('web console in Chromium', () => {
  let h: Harness;
  let browser: Browser;
  let page: Page;
  /** Uncaught script errors on the page (CSP refusals are not errors: they are the policy working). */
  const uncaught: string[] = [];
  const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  const tab = (name: string) => page.click(`#tabs a[data-tab="${name}"]`);
  const say = async (words: string) => {
    await tab('chat');
    await page.fill('#input', words);
    await page.press('#input', 'Enter');
  };

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    h = await startHarness({ script });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 390, height: 844 } });
    const loadErrors: string[] = [];
    page.on('console', (m) => m.type() === 'error' && loadErrors.push(m.text()));
    page.on('pageerror', (e) => uncaught.push(e.message));
    await page.goto(h.app.chatUrl);
    await page.waitForSelector('#composer');
    await page.locator('#tabs').waitFor();
    expect(loadErrors).toEqual([]); // every file loaded, nothing refused by the CSP
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await h?.close();
  });

  it('chats through the real sandbox and renders Markdown safely', async () => {
    await say('MARKDOWN please');
    const reply = page.locator('.msg.assistant .md').last();
    await reply.locator('strong').waitFor({ timeout: 60_000 });
    expect(await reply.locator('strong').textContent()).toBe('bold');
    expect(await reply.locator('li').count()).toBe(2);
    expect(await reply.locator('script, [onerror]').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();
    await shot('chat');
  }, 90_000);

  it('shows the overview: backend, channels, usage', async () => {
    await tab('overview');
    await page.locator('.card', { hasText: 'Sandbox backend' }).waitFor();
    expect(await page.locator('.card', { hasText: 'Sandbox backend' }).textContent()).toContain('bwrap');
    expect(await page.locator('.channels').textContent()).toContain('local');
    await shot('overview');
  });

  it('edits a chat setting, refuses a bad one, and the change takes effect', async () => {
    await tab('groups');
    const main = page.locator('form.group[data-folder="main"]');
    await main.waitFor();
    await main.locator('input[name="budget"]').fill('-5');
    await main.locator('button[type="submit"]').click();
    await main.locator('.note.problem').waitFor();
    expect(await main.locator('.note').textContent()).toContain('dailyTokenBudget');
    await main.locator('input[name="budget"]').fill('1');
    await main.locator('button[type="submit"]').click();
    await until(async () => (await main.locator('.note').textContent()) === 'Saved.');
    expect(h.app.store.mainGroup()!.containerConfig.dailyTokenBudget).toBe(1);
    await shot('groups');
    // The first chat spent more than one token today: the next message is refused with the reason.
    await say('are you over budget?');
    await page.locator('.msg.assistant', { hasText: 'budget' }).waitFor({ timeout: 30_000 });
    await shot('budget-refusal');
    await tab('groups');
    await main.locator('input[name="budget"]').fill('');
    await main.locator('button[type="submit"]').click();
    await until(async () => (await main.locator('.note').textContent()) === 'Saved.');
    expect(h.app.store.mainGroup()!.containerConfig.dailyTokenBudget).toBeUndefined();
  }, 60_000);

  it("a view opened again shows what is true now, never the last visit's form to edit", async () => {
    await tab('groups');
    const budget = page.locator('form.group[data-folder="main"] input[name="budget"]');
    await budget.waitFor();
    await tab('chat');
    // Changed elsewhere (the CLI, another console, the agent) while the tab was away.
    changeGroup(h.app.store, h.app.store.mainGroup()!, { dailyTokenBudget: 4242 }, 'test', () => []);
    // A slow answer, so the moment between showing the tab and the fresh copy arriving is long enough to see.
    const slow = '**/api/console/groups';
    await page.route(slow, async (route) => {
      await new Promise((resolve) => setTimeout(resolve, 500));
      await route.continue();
    });
    await tab('groups');
    await budget.waitFor(); // visible: what the owner can type into
    try {
      expect(await budget.inputValue()).toBe('4242');
    } finally {
      await page.unroute(slow, { behavior: 'wait' }); // lets a delayed answer finish first
      changeGroup(h.app.store, h.app.store.mainGroup()!, { dailyTokenBudget: null }, 'test', () => []);
    }
  });

  it('an edit in progress survives the event stream reconnecting (which reloads the shown view)', async () => {
    await tab('chat');
    await tab('groups'); // a fresh copy: this test saves the whole form
    const form = page.locator('form.group[data-folder="main"]');
    const trigger = form.locator('input[name="trigger"]');
    await trigger.waitFor();
    expect(await form.locator('input[name="budget"]').inputValue()).toBe('');
    await trigger.fill('@Typing');
    // The server ends the page's event stream (as a proxy timeout would; the harness keeps its own): it reconnects.
    const reconnected = page.waitForResponse((r) => r.url().includes('/api/events'), { timeout: 15_000 });
    const streams = (h.app.local as unknown as { subscribers: Set<{ res: { end(): void }; clientId?: string }> }).subscribers;
    for (const sub of streams) if (sub.clientId) sub.res.end();
    await reconnected;
    await page.waitForTimeout(500); // the reload the reconnect asks for would have replaced the form by now
    expect(await trigger.inputValue()).toBe('@Typing');
    await trigger.fill(h.app.store.mainGroup()!.trigger); // leave it as it was, saved
    await form.locator('button[type="submit"]').click();
    await until(async () => (await form.locator('.note').textContent()) === 'Saved.');
    expect(await form.getAttribute('data-edited')).toBeNull();
  }, 30_000);

  it('pauses a scheduled task', async () => {
    const main = h.app.store.mainGroup()!;
    const now = Date.now();
    h.app.store.tasks.create(
      { id: 'tconsole', groupId: main.id, createdBy: main.id, prompt: 'water the plants', scheduleType: 'cron', scheduleValue: '0 9 * * *', contextMode: 'group', anchorAt: now, nextRun: now + 3_600_000 },
      now,
    );
    await tab('tasks');
    const card = page.locator('.task[data-task="tconsole"]');
    await card.getByRole('button', { name: 'Pause' }).click();
    await card.locator('.badge', { hasText: 'paused' }).waitFor();
    expect(h.app.store.tasks.get('tconsole')!.status).toBe('paused');
    await card.getByRole('button', { name: 'Resume' }).waitFor();
    await shot('tasks');
  });

  it("watches a run's tool calls live and stops it", async () => {
    await say('USE_A_TOOL now');
    await tab('runs');
    const tool = page.locator('.run .tool', { hasText: TOOL_MARK });
    await tool.waitFor({ timeout: 60_000 });
    expect(await tool.locator('strong').textContent()).toBe('Bash');
    await shot('runs');
    await page.locator('.run button.danger').click();
    await page.locator('.run').waitFor({ state: 'detached', timeout: 20_000 });
    await tab('chat'); // where the stop was reported
    await page.locator('.msg.assistant', { hasText: 'Stopped' }).waitFor({ timeout: 20_000 });
    await shot('run-stopped');
  }, 90_000);

  it('draws spend per day, lists egress decisions and offers pairing', async () => {
    await tab('spend');
    await page.locator('svg.chart rect').first().waitFor();
    expect(await page.locator('.legend').textContent()).toContain('Owner');
    await shot('spend');
    await tab('egress');
    await page.locator('#egress h2').waitFor();
    await shot('egress');
    await tab('pairing');
    await page.locator('#pairing h2').waitFor();
    expect(await page.locator('#pairing').textContent()).toContain('WhatsApp is not enabled');
    await shot('pairing');
    expect(uncaught).toEqual([]);
  });
});
