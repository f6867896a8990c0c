// WhatsApp's light markup: *bold*, _italic_, ~strike~, `code`, ```blocks```, "> " quotes; no headings, links or
// tables. Markers only work at word edges and there are no escapes. The Markdown walk is ../../markdown/.
import { grid, linkText, renderMarkdown, type MarkdownStyle } from '../../markdown/render.js';

const fenced = (text: string) => '```\n' + text + '\n```';

const whatsappStyle: MarkdownStyle = {
  text: (s) => s,
  strong: (s) => `*${s}*`,
  em: (s) => `_${s}_`,
  del: (s) => `~${s}~`,
  codespan: (s) => `\`${s}\``,
  link: linkText,
  heading: (s) => `*${s}*`,
  codeBlock: (code) => fenced(code),
  quote: (body) => body.replace(/^/gm, '> '),
  table: (rows) => fenced(grid(rows)),
  rule: '———',
  wordEdgeMarkersOnly: true,
};

/** Markdown → WhatsApp markup. Code (inline and blocks) passes through untouched. */
export const toWhatsApp = (markdown: string) => renderMarkdown(markdown, whatsappStyle);
