// Slack's mrkdwn: *bold*, _italic_, ~strike~, `code`, ```blocks```, "> " quotes, links as <url|label>; no headings
// or tables. `&`, `<` and `>` are control characters and are escaped everywhere, code included (Slack shows the
// entities as the characters). The Markdown walk is ../../markdown/; this is only the style, and the reverse
// (Slack's markup in a message we receive → plain text for the agent).
import { grid, renderMarkdown, type MarkdownStyle } from '../../markdown/render.js';

export const escapeMrkdwn = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const unescape = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
const fenced = (text: string) => '```\n' + text + '\n```';

const slackStyle: MarkdownStyle = {
  text: escapeMrkdwn,
  strong: (s) => `*${s}*`,
  em: (s) => `_${s}_`,
  del: (s) => `~${s}~`,
  codespan: (s) => `\`${escapeMrkdwn(s)}\``,
  // A "|" in the address would end it early; Slack takes everything after the first "|" as the label.
  link: (label, href) => (label === escapeMrkdwn(href) ? `<${escapeMrkdwn(href)}>` : `<${escapeMrkdwn(href).replace(/\|/g, '%7C')}|${label}>`),
  heading: (s) => `*${s}*`,
  codeBlock: (code) => fenced(escapeMrkdwn(code)),
  quote: (body) => body.replace(/^/gm, '> '),
  // Cells come escaped; the columns are measured on what people see, then escaped again.
  table: (rows) => fenced(escapeMrkdwn(grid(rows.map((row) => row.map(unescape))))),
  rule: '———',
  wordEdgeMarkersOnly: true,
};

/** Markdown → Slack mrkdwn. */
export const toMrkdwn = (markdown: string) => renderMarkdown(markdown, slackStyle);

/**
 * A received message's text as people read it: user mentions as "@Name" (`nameOf` gives the name), channel links
 * as "#name", links as "label (url)", entities unescaped.
 */
export function fromMrkdwn(text: string, nameOf: (userId: string) => string): string {
  return text
    .replace(/<([^<>]*)>/g, (_, inner: string) => {
      const [target, label] = inner.split('|', 2) as [string, string | undefined];
      if (target.startsWith('@')) return `@${nameOf(target.slice(1))}`;
      if (target.startsWith('#')) return `#${label ?? target.slice(1)}`;
      if (target.startsWith('!')) return `@${label ?? target.slice(1).split('^')[0]}`; // @here, @channel
      return label && label !== target ? `${label} (${target})` : target.replace(/^mailto:/, '');
    })
    .replace(/&[lg]t;|&amp;/g, (entity) => unescape(entity));
}

/** The user ids mentioned in a received message ("<@U123>"). */
export const mentionedUsers = (text: string): string[] => [...text.matchAll(/<@([A-Z0-9]+)(?:\|[^>]*)?>/g)].map((m) => m[1]);
