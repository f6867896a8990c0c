// Slack's markup both ways: Markdown → mrkdwn for replies (escaping, links, code, tables), and a received message's
// markup → the text the agent reads. Plus what of a message event is handed on at all.
import { describe, expect, it } from 'vitest';
import { fromMrkdwn, toMrkdwn } from '../src/channels/slack/format.js';
import { chatIdOf, slackTarget } from '../src/channels/slack/ids.js';
import { plainMessage, readableText, type SlackMessageEvent } from '../src/channels/slack/inbound.js';
import { mediaName } from '../src/channels/slack/media.js';

describe('Markdown → Slack mrkdwn', () => {
  it('escapes &, < and > everywhere, code included, and writes Slack emphasis', () => {
    expect(toMrkdwn('**bold** _it_ ~~gone~~ a < b & c > d')).toBe('*bold* _it_ ~gone~ a &lt; b &amp; c &gt; d');
    expect(toMrkdwn('`a<b>`')).toBe('`a&lt;b&gt;`');
    expect(toMrkdwn('```js\nif (a && b) x();\n```')).toBe('```\nif (a &amp;&amp; b) x();\n```');
    expect(toMrkdwn('2*3*4 stays')).toBe('2*3*4 stays');
  });

  it('links as <url|label>; bare addresses left to Slack; a "|" in the address cannot cut the label', () => {
    expect(toMrkdwn('[the docs](https://x.test/a?b=1&c=2)')).toBe('<https://x.test/a?b=1&amp;c=2|the docs>');
    expect(toMrkdwn('see https://x.test/')).toBe('see https://x.test/');
    expect(toMrkdwn('[x](https://x.test/a|b)')).toBe('<https://x.test/a%7Cb|x>');
  });

  it('headings bold, quotes, lists, tables as a monospace grid', () => {
    expect(toMrkdwn('# Title\n\n> quoted\n\n- one\n- two')).toBe('*Title*\n\n> quoted\n\n• one\n• two');
    expect(toMrkdwn('| a | b |\n|---|---|\n| 1 | <2> |')).toBe('```\na | b\n--+----\n1 | &lt;2&gt;\n```');
  });
});

describe('a received message', () => {
  const names = new Map([['UBOB', 'Bob']]);
  it('mentions become names (the bot the assistant), links and channels readable, entities unescaped', () => {
    const nameOf = (id: string) => (id === 'UBOT' ? 'Andy' : (names.get(id) ?? id));
    expect(fromMrkdwn('<@UBOT> ask <@UBOB> in <#C1|general> about <https://x.test|this> &amp; <https://y.test> &lt;3 <!here>', nameOf)).toBe(
      '@Andy ask @Bob in #general about this (https://x.test) & https://y.test <3 @here',
    );
  });

  const event = (fields: Partial<SlackMessageEvent>): SlackMessageEvent => ({ type: 'message', channel: 'C1', ts: '1.000100', user: 'UBOB', text: 'hi', ...fields });

  it('is handed on only when someone wrote it: not the bot, other bots, joins or deletions', () => {
    expect(plainMessage(event({}), 'UBOT')).toMatchObject({ channel: 'C1', isDm: false, platformId: '1.000100', edited: false });
    expect(plainMessage(event({ user: 'UBOT' }), 'UBOT')).toBeUndefined();
    expect(plainMessage(event({ bot_id: 'B2' }), 'UBOT')).toBeUndefined();
    expect(plainMessage(event({ subtype: 'channel_join' }), 'UBOT')).toBeUndefined();
    expect(plainMessage(event({ subtype: 'message_deleted' }), 'UBOT')).toBeUndefined();
    expect(plainMessage(event({ channel: 'D1', channel_type: 'im' }), 'UBOT')?.isDm).toBe(true);
  });

  it('a thread reply names its thread; the thread’s first message does not', () => {
    expect(plainMessage(event({ thread_ts: '0.5' }), 'UBOT')?.threadTs).toBe('0.5');
    expect(plainMessage(event({ thread_ts: '1.000100' }), 'UBOT')?.threadTs).toBeUndefined();
  });

  it('an edit is a new message marked (edited); an unfurl (no edit) is nothing', () => {
    const edit = plainMessage(event({ subtype: 'message_changed', message: { user: 'UBOB', text: '<@UBOT> new', ts: '1.000100', edited: { ts: '2.0' } } }), 'UBOT')!;
    expect(edit).toMatchObject({ platformId: '1.000100/edit/2.0', edited: true });
    expect(readableText(edit, 'UBOT', 'Andy', names)).toEqual({ text: '(edited) @Andy new', addressed: true });
    expect(plainMessage(event({ subtype: 'message_changed', message: { user: 'UBOB', text: 'x', ts: '1.000100' } }), 'UBOT')).toBeUndefined();
  });
});

describe('ids and names', () => {
  it('chat ids round-trip; a foreign id is refused', () => {
    expect(slackTarget(chatIdOf('C1', '1.5'))).toEqual({ channel: 'C1', threadTs: '1.5' });
    expect(slackTarget(chatIdOf('C1'))).toEqual({ channel: 'C1', threadTs: undefined });
    expect(() => slackTarget('wa:1@g.us')).toThrow(/not a Slack chat id/);
  });

  it('media names are ours: no path parts, no leading dot', () => {
    const at = Date.UTC(2026, 0, 2);
    expect(mediaName({ id: 'F1/..', name: '../../.bashrc' }, at)).toBe('2026-01-02-F1-bashrc');
    expect(mediaName({ id: 'F2', name: 'Résumé final.pdf' }, at)).toBe('2026-01-02-F2-Re_sume_final.pdf');
  });
});
