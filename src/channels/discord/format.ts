// Discord's Markdown: **bold**, *italic*, ~~strike~~, `code`, ``` blocks, "> " quotes, # headings (three levels)
// and [label](url) links; no tables. A literal *, _, ~, `, | or \ in text is escaped so Discord shows it as typed,
// and so is a "#", ">" or "-" that would start a heading, quote or list. Pings are not a matter of markup:
// every send restricts allowed mentions. The Markdown walk is ../../markdown/.
import { grid, renderMarkdown, type MarkdownStyle } from '../../markdown/render.js';
import { splitMessage } from '../../markdown/split.js';

/** Discord refuses a message longer than this. */
export const DISCORD_MAX_CHARS = 2000;

const fenced = (text: string, lang = '') => '```' + lang + '\n' + text.replace(/```/g, '`\u200b``') + '\n```';

const BARE_URL = /(https?:\/\/[^\s<>]+)/;

/**
 * Escapes what Discord would read as markup, a masked link's brackets too, so text never turns into a link.
 * Bare addresses are left alone: Discord links them as written, and a backslash would break them.
 */
export function escapeDiscord(text: string): string {
  return text
    .split(BARE_URL)
    .map((piece, i) => (i % 2 === 1 ? piece : piece.replace(/[\\*_~`|[\]]/g, '\\$&')))
    .join('')
    .replace(/^(\s*)([#>-])/gm, '$1\\$2');
}

const discordStyle: MarkdownStyle = {
  text: escapeDiscord,
  strong: (s) => `**${s}**`,
  em: (s) => `*${s}*`,
  del: (s) => `~~${s}~~`,
  codespan: (s) => (s.includes('`') ? `\`\` ${s} \`\`` : `\`${s}\``),
  link: (label, href) => `[${label}](<${href.replace(/[<>\s]/g, encodeURIComponent)}>)`,
  heading: (s, depth) => (depth <= 3 ? `${'#'.repeat(depth)} ${s}` : `**${s}**`),
  codeBlock: (code, lang) => fenced(code, lang && /^[\w+#-]{1,20}$/.test(lang) ? lang : ''),
  quote: (body) => body.replace(/^/gm, '> '),
  table: (rows) => fenced(grid(rows)),
  rule: '———',
};

/** Markdown → Discord Markdown. */
export const toDiscord = (markdown: string) => renderMarkdown(markdown, discordStyle);

/** A team member's role as a bold prefix: a bot has one name on Discord (webhooks aside). */
export const signed = (text: string, role?: string) => (role ? `**${escapeDiscord(role)}:** ${text}` : text);

/**
 * Markdown → the Discord messages to send, each under 2,000 characters, cut on paragraph or code-fence
 * boundaries (a code block cut in two is closed and reopened). The role prefix goes on the first only.
 */
export function discordMessages(markdown: string, role?: string): string[] {
  const prefix = signed('', role);
  // splitMessage may add 4 characters to close a code block.
  const parts = splitMessage(toDiscord(markdown) || escapeDiscord(markdown.trim()) || '…', DISCORD_MAX_CHARS - 4 - prefix.length);
  return parts.map((part, i) => (i === 0 ? prefix + part : part));
}
