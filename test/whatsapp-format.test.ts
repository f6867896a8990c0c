import { describe, expect, it } from 'vitest';
import { toWhatsApp } from '../src/channels/whatsapp/format.js';
import { splitMessage } from '../src/markdown/split.js';
import { mediaFileName, safeFileName } from '../src/channels/whatsapp/media.js';

describe('Markdown → WhatsApp', () => {
  it('converts emphasis, headings, lists and links', () => {
    expect(toWhatsApp('# Plan for **today**\nSome **bold**, *italic*, __bold too__, _italic too_ and ~~gone~~.')).toBe(
      '*Plan for today*\nSome *bold*, _italic_, *bold too*, _italic too_ and ~gone~.',
    );
    expect(toWhatsApp('- one\n* two with **bold**\n  + nested\n1. numbered stays')).toBe('• one\n• two with *bold*\n  • nested\n1. numbered stays');
    expect(toWhatsApp('see [the docs](https://example.com/a) or https://x.y and [https://x.y](https://x.y)')).toBe(
      'see the docs (https://example.com/a) or https://x.y and https://x.y',
    );
  });

  it('leaves code, arithmetic and lone stars alone', () => {
    const code = '```\n**not bold**\n- not a bullet\n```';
    expect(toWhatsApp(`before **b**\n${code}\nafter`)).toBe(`before *b*\n${code}\nafter`);
    expect(toWhatsApp('inline `a**b**c` and **d**')).toBe('inline `a**b**c` and *d*');
    expect(toWhatsApp('2*3*4 = 24, a * b')).toBe('2*3*4 = 24, a * b');
  });
});

describe('splitting long messages', () => {
  it('keeps short text whole', () => {
    expect(splitMessage('  hello  ', 100)).toEqual(['hello']);
  });

  it('cuts between paragraphs first, then sentences, never over the limit, losing nothing', () => {
    const paragraphs = Array.from({ length: 8 }, (_, i) => `Paragraph ${i}. ${'word '.repeat(20).trim()}.`);
    const text = paragraphs.join('\n\n');
    const parts = splitMessage(text, 300);
    expect(parts.length).toBeGreaterThan(1);
    for (const p of parts) {
      expect(p.length).toBeLessThanOrEqual(300);
      expect(p).toMatch(/^Paragraph \d\./); // every part starts at a paragraph
    }
    expect(parts.join('\n\n')).toBe(text);

    const sentences = Array.from({ length: 20 }, (_, i) => `Sentence ${i} is here.`).join(' ');
    const cut = splitMessage(sentences, 100);
    expect(cut.every((p) => p.length <= 100 && p.endsWith('.'))).toBe(true);
    expect(cut.join(' ')).toBe(sentences);
  });

  it('a code block cut in two is closed and reopened', () => {
    const text = '```\n' + Array.from({ length: 40 }, (_, i) => `line ${i}`).join('\n') + '\n```';
    const parts = splitMessage(text, 120);
    expect(parts.length).toBeGreaterThan(1);
    for (const p of parts) {
      expect(p.length).toBeLessThanOrEqual(124);
      expect(p.startsWith('```')).toBe(true);
      expect(p.endsWith('```')).toBe(true);
    }
  });

  it('a word longer than the limit is cut hard', () => {
    expect(splitMessage('x'.repeat(250), 100).map((p) => p.length)).toEqual([96, 96, 58]);
  });
});

describe('media file names', () => {
  it('are ours: date, message id, sanitized document name, extension', () => {
    const at = Date.UTC(2026, 0, 2);
    const msg = (id: string) => ({ key: { id } });
    expect(mediaFileName(msg('ABC'), { mimetype: 'image/jpeg' }, at)).toBe('2026-01-02-ABC.jpg');
    expect(mediaFileName(msg('A/../B'), { mimetype: 'audio/ogg; codecs=opus' }, at)).toBe('2026-01-02-A_B.ogg');
    expect(mediaFileName(msg('D'), { mimetype: 'application/pdf', fileName: '.hidden/../../x y.PDF' }, at)).toBe('2026-01-02-D-hidden_x_y.pdf');
    expect(mediaFileName(msg('E'), { mimetype: 'application/x-weird;<script>' }, at)).toBe('2026-01-02-E.bin');
    expect(safeFileName('…'.repeat(300)).length).toBeLessThanOrEqual(100);
    expect(safeFileName('...')).toBe('file');
  });
});
