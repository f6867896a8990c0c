// Agents write Markdown; WhatsApp has its own light markup (*bold*, _italic_, ~strike~, `code`, ```blocks```)
// and no headings, links or bullets. Convert outside code, and split long replies where a reader would.

const BOLD = '\u0001'; // placeholder, so bold's single * is not then read as italic

function inline(text: string): string {
  return text
    .replace(/\[([^\]\n]+)\]\(([^)\s]+)\)/g, (_, label: string, url: string) => (label === url ? url : `${label} (${url})`))
    .replace(/\*\*(?=\S)([^\n]+?)(?<=\S)\*\*/g, `${BOLD}$1${BOLD}`)
    .replace(/__(?=\S)([^\n]+?)(?<=\S)__/g, `${BOLD}$1${BOLD}`)
    .replace(/(?<![*\w])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![*\w])/g, '_$1_')
    .replace(/~~(?=\S)([^\n]+?)(?<=\S)~~/g, '~$1~')
    .replaceAll(BOLD, '*');
}

/** Apply `fn` to the text outside inline code spans. */
const outsideCode = (text: string, fn: (s: string) => string) =>
  text
    .split(/(`[^`\n]+`)/g)
    .map((seg, i) => (i % 2 === 1 ? seg : fn(seg)))
    .join('');

function line(text: string): string {
  const heading = /^#{1,6}\s+(.+?)\s*#*$/.exec(text);
  if (heading) return `*${heading[1].replace(/\*\*|__/g, '')}*`;
  const bullet = /^(\s*)[-*+]\s+(.*)$/.exec(text);
  if (bullet) return `${bullet[1]}• ${outsideCode(bullet[2], inline)}`;
  return outsideCode(text, inline);
}

/** Markdown → WhatsApp markup. Fenced blocks and inline code pass through untouched. */
export function toWhatsApp(markdown: string): string {
  return markdown
    .split(/(```[\s\S]*?```)/g)
    .map((part, i) => (i % 2 === 1 ? part : part.split('\n').map(line).join('\n')))
    .join('');
}

/** Where to cut, best first: between paragraphs, lines, sentences, words. */
const BREAKS = [/\n\s*\n/g, /\n/g, /[.!?…]\s/g, /\s/g];

/**
 * Split a long message into parts of at most `max` characters, cutting at the best boundary in the second half of
 * each part. A code block cut in two is closed and reopened so both parts render.
 */
export function splitMessage(text: string, max: number): string[] {
  const parts: string[] = [];
  let rest = text.trim();
  let reopen = false;
  while (rest.length > 0) {
    if (reopen) rest = '```\n' + rest;
    if (rest.length <= max) {
      parts.push(rest);
      break;
    }
    const room = max - 4; // space to close a code block
    let cut = -1;
    for (const pattern of BREAKS) {
      for (const m of rest.slice(0, room + 1).matchAll(pattern)) {
        const end = pattern === BREAKS[2] ? m.index + 1 : m.index;
        if (end >= room / 2) cut = end;
      }
      if (cut > 0) break;
    }
    if (cut <= 0) cut = room;
    let part = rest.slice(0, cut).trimEnd();
    rest = rest.slice(cut).trimStart();
    reopen = (part.match(/```/g)?.length ?? 0) % 2 === 1;
    if (reopen) part += '\n```';
    parts.push(part);
  }
  return parts;
}
