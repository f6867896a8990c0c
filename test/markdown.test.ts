import { describe, expect, it } from 'vitest';
import { toWhatsApp } from '../src/channels/whatsapp/format.js';
import { splitMessage } from '../src/markdown/split.js';

describe('Markdown → WhatsApp, nested and awkward cases', () => {
  it('renders markup inside list items, at every depth, with numbers and task boxes', () => {
    const md = '1. first with **bold** and `code`\n2. second:\n   - *italic* [docs](https://e.x/d)\n     - ~~old~~ deep\n\n- [ ] todo\n- [x] done';
    expect(toWhatsApp(md)).toBe(
      '1. first with *bold* and `code`\n2. second:\n  • _italic_ docs (https://e.x/d)\n    • ~old~ deep\n\n☐ todo\n☑ done',
    );
    expect(toWhatsApp('3. starts at three\n4. and counts on')).toBe('3. starts at three\n4. and counts on');
    expect(toWhatsApp('**bold _with italic_ inside**')).toBe('*bold _with italic_ inside*');
  });

  it('passes code through untouched: stars, underscores, tildes, brackets; the language tag goes', () => {
    const code = 'const a = b * c_d * e_f; // **x** ~~y~~ [z](w)\n\n- not a list';
    expect(toWhatsApp('```ts\n' + code + '\n```')).toBe('```\n' + code + '\n```');
    expect(toWhatsApp('run `rm -rf *_tmp_*` now')).toBe('run `rm -rf *_tmp_*` now');
  });

  it('writes links as "label (address)", bare addresses as they are', () => {
    expect(toWhatsApp('[the docs](https://e.x/a) and <https://e.x/b> and www.e.x and ada@e.x')).toBe(
      'the docs (https://e.x/a) and https://e.x/b and www.e.x and ada@e.x',
    );
    expect(toWhatsApp('[**bold** label](https://e.x)')).toBe('*bold* label (https://e.x)');
    expect(toWhatsApp('![a chart](https://e.x/c.png)')).toBe('a chart (https://e.x/c.png)');
  });

  it('shows escaped characters as themselves and keeps markers inside words as typed', () => {
    expect(toWhatsApp('\\# not a heading, \\- not a bullet, 5 \\* 3, \\[x](y)')).toBe('# not a heading, - not a bullet, 5 * 3, [x](y)');
    expect(toWhatsApp('snake_case_name and 2*3*4 and un**believ**able')).toBe('snake_case_name and 2*3*4 and un**believ**able');
  });

  it('writes headings of every level as bold lines, without doubling bold inside', () => {
    expect(toWhatsApp('# One\n## Two **strong** _it_\n###### Six\nSetext\n======\ntext')).toBe(
      '*One*\n*Two strong _it_*\n*Six*\n*Setext*\ntext',
    );
  });

  it('writes a table as aligned columns in a monospace block, cells without markup', () => {
    const md = '| Name | Role |\n|------|:----:|\n| Ada | **Lead** |\n| Grace Hopper | `dev` |\n\nafter';
    expect(toWhatsApp(md)).toBe('```\nName         | Role\n-------------+-----\nAda          | Lead\nGrace Hopper | dev\n```\n\nafter');
  });

  it('keeps quotes, rules and the author\'s blank lines (one, however many)', () => {
    expect(toWhatsApp('> quoted **bold**\n> two\n\n\n\n---\nend')).toBe('> quoted *bold*\n> two\n\n———\nend');
  });
});

describe('splitting outside code blocks', () => {
  it('cuts before a code block rather than at a blank line inside it', () => {
    const prose = 'Some words to start with, long enough to fill half a part.';
    const code = '```\n' + 'a = 1\n'.repeat(6) + '\n' + 'b = 2\n'.repeat(6) + '```';
    const text = `${prose}\n${code}`;
    const parts = splitMessage(text, 110);
    expect(parts[0]).toBe(prose); // the old splitter cut at the blank line inside the code
    expect(parts.slice(1).join('\n')).toBe(code);
    expect(parts.every((p) => (p.match(/```/g)?.length ?? 0) % 2 === 0)).toBe(true);
  });
});
