// Agents write Markdown; every chat platform has its own markup. Markdown is parsed once by `marked` (GFM: tables,
// strikethrough, task lists, bare links) and walked here; a platform supplies only a MarkdownStyle that says how
// each piece is written. The walker owns the structure: nesting, list markers and indentation, blank lines as the
// author left them, tables flattened to text.
import { Lexer, type Token, type Tokens } from 'marked';

export interface MarkdownStyle {
  /** Plain text as the platform needs it (escaped where the platform has escapes). */
  text(text: string): string;
  strong(inner: string): string;
  em(inner: string): string;
  del(inner: string): string;
  codespan(code: string): string;
  /** A link whose label is not just the bare address (bare addresses are left to the platform's auto-linking). */
  link(label: string, href: string): string;
  /** `inner` is already rendered as bold text where the style is inside one (bold inside bold is dropped). */
  heading(inner: string, depth: number): string;
  codeBlock(code: string, lang: string | undefined): string;
  quote(body: string): string;
  /** Header row first; cells are text without markup (`text()` applied), see `grid()`. */
  table(rows: string[][]): string;
  rule: string;
  /**
   * The platform honours emphasis markers only at word edges (WhatsApp, Slack): emphasis inside a word ("2*3*4")
   * is kept as the author typed it, since the markers would show up literally anyway.
   */
  wordEdgeMarkersOnly?: boolean;
}

interface Context {
  style: MarkdownStyle;
  /** Inside bold text (a heading): a strong span adds nothing. */
  bold: boolean;
}

const INDENT = '  ';
const WORD_CHAR = /[\p{L}\p{N}]/u;

/** Markdown → the platform's markup, in one pass over marked's tokens. */
export function renderMarkdown(markdown: string, style: MarkdownStyle): string {
  const tokens = Lexer.lex(markdown, { gfm: true });
  return blocks(tokens, { style, bold: false }).join('\n').trim();
}

/** A link for platforms without link markup: "label (address)", or the address alone when that is the label. */
export const linkText = (label: string, href: string) => (label === href || `mailto:${label}` === href ? label : `${label} (${href})`);

/** Columns padded to their widest cell, so a table reads in a monospace block or a terminal. */
export function grid(rows: string[][]): string {
  const widths = rows[0].map((_, col) => Math.max(...rows.map((row) => [...(row[col] ?? '')].length)));
  const line = (row: string[]) => row.map((cell, col) => cell.padEnd(widths[col] + cell.length - [...cell].length)).join(' | ');
  const ruler = widths.map((w) => '-'.repeat(w)).join('-+-');
  return [line(rows[0]), ruler, ...rows.slice(1).map(line)].map((l) => l.trimEnd()).join('\n');
}

function blocks(tokens: Token[], ctx: Context): string[] {
  return tokens.map((t) => block(t, ctx)).filter((b): b is string => b !== undefined);
}

function block(token: Token, ctx: Context): string | undefined {
  const { style } = ctx;
  const t = token as Tokens.Generic;
  switch (token.type) {
    case 'space':
      return ''; // the author's blank line between blocks, one however many there were
    case 'paragraph':
    case 'text':
      return t.tokens ? inline(t.tokens, ctx) : style.text(t.text);
    case 'heading':
      return style.heading(inline(t.tokens ?? [], { ...ctx, bold: true }), t.depth);
    case 'code':
      return style.codeBlock((token as Tokens.Code).text, (token as Tokens.Code).lang || undefined);
    case 'blockquote':
      return style.quote(blocks(t.tokens ?? [], ctx).join('\n').trim());
    case 'list':
      return list(token as Tokens.List, ctx).join('\n');
    case 'table':
      return style.table(tableRows(token as Tokens.Table, style));
    case 'hr':
      return style.rule;
    case 'def':
      return undefined; // a link reference definition: its links already carry the address
    default:
      return style.text(token.raw.trim()); // HTML and anything unknown: shown as written
  }
}

/** One line per item: its marker, its first block; further blocks and nested lists indented under it. */
function list(token: Tokens.List, ctx: Context): string[] {
  const start = typeof token.start === 'number' ? token.start : 1;
  return token.items.flatMap((item, i) => {
    const marker = item.task ? (item.checked ? '☑' : '☐') : token.ordered ? `${start + i}.` : '•';
    const children = item.tokens.filter((t) => t.type !== 'checkbox' && t.type !== 'space');
    const lines = children.flatMap((child) => (child.type === 'list' ? list(child as Tokens.List, ctx) : (block(child, ctx) ?? '').split('\n')));
    const [first = '', ...rest] = lines;
    return [`${marker} ${first}`, ...rest.map((l) => (l ? INDENT + l : l))];
  });
}

/** Cells as text in the platform's escaping, without markup: a grid is shown monospace, where markup does not render. */
function tableRows(token: Tokens.Table, style: MarkdownStyle): string[][] {
  const same = (s: string) => s;
  const cellStyle: MarkdownStyle = { ...style, strong: same, em: same, del: same, codespan: same, link: linkText };
  const cell = (c: Tokens.TableCell) => inline(c.tokens, { style: cellStyle, bold: false });
  return [token.header.map(cell), ...token.rows.map((row) => row.map(cell))];
}

function inline(tokens: Token[], ctx: Context): string {
  return tokens.map((t, i) => span(t, ctx, tokens[i - 1], tokens[i + 1])).join('');
}

function span(token: Token, ctx: Context, before: Token | undefined, after: Token | undefined): string {
  const { style } = ctx;
  const t = token as Tokens.Generic;
  switch (token.type) {
    case 'text':
      return t.tokens ? inline(t.tokens, ctx) : style.text(t.text);
    case 'escape':
      return style.text(t.text);
    case 'strong':
    case 'em':
    case 'del': {
      if (style.wordEdgeMarkersOnly && insideWord(before, after)) return style.text(token.raw);
      const inner = inline(t.tokens ?? [], token.type === 'strong' ? { ...ctx, bold: true } : ctx);
      if (token.type === 'strong') return ctx.bold ? inner : style.strong(inner);
      return token.type === 'em' ? style.em(inner) : style.del(inner);
    }
    case 'codespan':
      return style.codespan(t.text);
    case 'br':
      return '\n';
    case 'link':
    case 'image': {
      const label = token.type === 'image' ? style.text(t.text || 'image') : inline(t.tokens ?? [], ctx);
      return token.raw === t.text ? style.text(token.raw) : style.link(label, t.href);
    }
    default:
      return style.text(token.raw); // inline HTML and anything unknown: shown as written
  }
}

const insideWord = (before: Token | undefined, after: Token | undefined) =>
  WORD_CHAR.test(before?.raw.at(-1) ?? '') || WORD_CHAR.test(after?.raw.at(0) ?? '');
