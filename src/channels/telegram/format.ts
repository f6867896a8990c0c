// Telegram's HTML flavour: <b>, <i>, <s>, <code>, <pre>, <a href>, <blockquote>; everything else is text in which
// only &, < and > must be escaped. The Markdown walk is ../../markdown/. Long replies are cut as Markdown first
// (the shared splitter keeps code fences whole) and each part rendered on its own, so no tag spans two messages.
import { grid, linkText, renderMarkdown, type MarkdownStyle } from '../../markdown/render.js';
import { splitMessage } from '../../markdown/split.js';

/** Telegram's limit for one message's text (after entities are parsed). */
export const MAX_MESSAGE_CHARS = 4096;
/** And for a caption. */
export const MAX_CAPTION_CHARS = 1024;

export const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const escapeAttr = (s: string) => escapeHtml(s).replace(/"/g, '&quot;');

/** Links Telegram accepts in <a href>; anything else (javascript:, relative) is shown as text. */
const LINKABLE = /^(https?:|tg:|mailto:)/i;

const telegramStyle: MarkdownStyle = {
  text: escapeHtml,
  strong: (s) => `<b>${s}</b>`,
  em: (s) => `<i>${s}</i>`,
  del: (s) => `<s>${s}</s>`,
  codespan: (s) => `<code>${escapeHtml(s)}</code>`,
  link: (label, href) => (LINKABLE.test(href) ? `<a href="${escapeAttr(href)}">${label}</a>` : linkText(label, escapeHtml(href))),
  heading: (s) => `<b>${s}</b>`,
  codeBlock: (code, lang) =>
    lang && /^[\w+#.-]{1,30}$/.test(lang)
      ? `<pre><code class="language-${lang}">${escapeHtml(code)}</code></pre>`
      : `<pre>${escapeHtml(code)}</pre>`,
  quote: (body) => `<blockquote>${body}</blockquote>`,
  table: (rows) => `<pre>${grid(rows)}</pre>`,
  rule: '———',
};

/** Markdown → Telegram HTML. */
export const toTelegramHtml = (markdown: string) => renderMarkdown(markdown, telegramStyle);

/** One message to send: its HTML, and the plain text to send instead if Telegram refuses the HTML. */
export interface MessagePart {
  html: string;
  plain: string;
}

/** A reply as Telegram messages, each under the limit, prefixed with a team member's role when there is one. */
export function messageParts(markdown: string, role?: string, max = MAX_MESSAGE_CHARS): MessagePart[] {
  const plainPrefix = role ? `${role}: ` : '';
  const htmlPrefix = role ? `<b>${escapeHtml(role)}:</b> ` : '';
  return splitMessage(markdown, max - plainPrefix.length - 4).map((part) => ({
    html: htmlPrefix + toTelegramHtml(part),
    plain: plainPrefix + part,
  }));
}

/** A file's caption: HTML with its plain fallback, cut to Telegram's caption limit. */
export function captionPart(markdown: string | undefined): MessagePart | undefined {
  if (!markdown?.trim()) return undefined;
  const plain = markdown.length > MAX_CAPTION_CHARS ? `${markdown.slice(0, MAX_CAPTION_CHARS - 1)}…` : markdown;
  return { html: toTelegramHtml(plain), plain };
}
