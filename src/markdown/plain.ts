// Markdown → plain text, for places that show text as it is (a terminal): the markup goes, the structure stays
// (bullets, indentation, "label (address)" links, tables as padded columns, code indented).
import { grid, linkText, renderMarkdown, type MarkdownStyle } from './render.js';

const same = (s: string) => s;
const indented = (text: string, prefix: string) => text.replace(/^/gm, prefix);

export const plainStyle: MarkdownStyle = {
  text: same,
  strong: same,
  em: same,
  del: same,
  codespan: same,
  link: linkText,
  heading: same,
  codeBlock: (code) => indented(code, '    '),
  quote: (body) => indented(body, '> '),
  table: grid,
  rule: '———',
};

export const toPlainText = (markdown: string) => renderMarkdown(markdown, plainStyle);
