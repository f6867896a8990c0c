import { describe, expect, it } from 'vitest';
import { discordMessages, escapeDiscord, toDiscord } from '../src/channels/discord/format.js';

describe('Discord Markdown', () => {
  it('keeps what Discord renders and escapes what it would misread', () => {
    expect(toDiscord('**bold** and *it* and ~~gone~~ and `a*b`')).toBe('**bold** and *it* and ~~gone~~ and `a*b`');
    expect(toDiscord('# Title\n\n#### Small')).toBe('# Title\n\n**Small**');
    expect(toDiscord('2 * 3 = 6, snake_case_name, a|b, ~x')).toBe('2 \\* 3 = 6, snake\\_case\\_name, a\\|b, \\~x');
    expect(toDiscord('[docs](https://example.org/a) and https://example.org/b_c_d')).toBe('[docs](<https://example.org/a>) and https://example.org/b_c_d');
    expect(toDiscord('| a | b |\n|---|---|\n| 1 | 2 |')).toBe('```\na | b\n--+--\n1 | 2\n```');
    expect(toDiscord('```js\nlet x = "```";\n```')).toBe('```js\nlet x = "`\u200b``";\n```');
    expect(escapeDiscord('# not a heading\n> not a quote\n- not a list')).toBe('\\# not a heading\n\\> not a quote\n\\- not a list');
  });

  it('splits at 2,000 characters on paragraph and fence boundaries, the role on the first part only', () => {
    const code = Array.from({ length: 80 }, (_, i) => `x${i} = ${i}`).join('\n');
    const parts = discordMessages(`${'Prose sentence here. '.repeat(80)}\n\n\`\`\`py\n${code}\n${code}\n\`\`\``, 'Coder');
    expect(parts.length).toBeGreaterThan(1);
    expect(parts[0].startsWith('**Coder:** Prose')).toBe(true);
    expect(parts.slice(1).some((p) => p.startsWith('**Coder:**'))).toBe(false);
    for (const p of parts) {
      expect(p.length).toBeLessThanOrEqual(2000);
      expect((p.match(/```/g) ?? []).length % 2).toBe(0);
    }
    expect(parts[0].endsWith('Prose sentence here.')).toBe(true); // cut between the paragraph and the code
  });
});
