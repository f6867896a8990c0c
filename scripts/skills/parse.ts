// What a skill file says: its front matter, its fenced blocks (the runnable ones marked `bash rehearse`), and the
// `carapace …` commands, `npm run …` scripts and repository paths it mentions, each with its line.
import { parse as parseYaml } from 'yaml';

export const RUNNABLE_INFO = 'bash rehearse';

export interface Block {
  info: string;
  code: string;
  line: number;
}

export interface Mention {
  text: string;
  line: number;
}

export interface SkillDoc {
  frontMatter: Record<string, unknown> | undefined;
  frontMatterError?: string;
  body: string;
  blocks: Block[];
}

const KNOWN_KEYS = new Set(['name', 'description', 'allowed-tools', 'argument-hint', 'disable-model-invocation', 'model', 'license']);

export function parseSkill(markdown: string): SkillDoc {
  const m = /^---\n([\s\S]*?)\n---\n/.exec(markdown);
  if (!m) return { frontMatter: undefined, frontMatterError: 'no front matter (--- at the top)', body: markdown, blocks: blocksOf(markdown) };
  let frontMatter: Record<string, unknown> | undefined;
  let frontMatterError: string | undefined;
  try {
    const parsed = parseYaml(m[1]);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) frontMatter = parsed as Record<string, unknown>;
    else frontMatterError = 'front matter is not a mapping';
  } catch (err) {
    frontMatterError = `front matter is not valid YAML: ${(err as Error).message.split('\n')[0]}`;
  }
  return { frontMatter, frontMatterError, body: markdown, blocks: blocksOf(markdown) };
}

/** Problems with a skill's front matter: the fields Claude Code needs, and nothing it does not know. */
export function frontMatterProblems(doc: SkillDoc, folder: string): string[] {
  if (doc.frontMatterError || !doc.frontMatter) return [doc.frontMatterError ?? 'no front matter'];
  const fm = doc.frontMatter;
  const problems: string[] = [];
  if (typeof fm.name !== 'string' || !/^[a-z0-9-]{1,64}$/.test(fm.name)) problems.push('name: lowercase letters, digits and hyphens, at most 64');
  else if (fm.name !== folder) problems.push(`name "${fm.name}" differs from its folder "${folder}"`);
  if (typeof fm.description !== 'string' || fm.description.trim().length < 20) problems.push('description: say what it does and when to use it');
  else if (fm.description.length > 1024) problems.push('description: at most 1024 characters');
  if (fm['allowed-tools'] !== undefined && typeof fm['allowed-tools'] !== 'string' && !Array.isArray(fm['allowed-tools']))
    problems.push('allowed-tools: a comma-separated string or a list');
  for (const key of Object.keys(fm)) if (!KNOWN_KEYS.has(key)) problems.push(`unknown front matter key "${key}"`);
  return problems;
}

function blocksOf(markdown: string): Block[] {
  const blocks: Block[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(```+)\s*(.*)$/.exec(lines[i]);
    if (!open) continue;
    const indent = open[1].length;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && !new RegExp(`^\\s*${open[2]}\\s*$`).test(lines[j]); j++) body.push(lines[j].slice(Math.min(indent, lines[j].search(/\S|$/))));
    blocks.push({ info: open[3].trim(), code: body.join('\n'), line: i + 1 });
    i = j;
  }
  return blocks;
}

/** Every `carapace …` command: a line of a shell block, or an inline code span, up to a shell separator. */
export function commandMentions(doc: SkillDoc): Mention[] {
  return codeTexts(doc).flatMap(({ text, line }) =>
    [...text.matchAll(/(?:^|[\s$(`;&|])carapace((?: +[^\s;&|)`'"]+|(?: +'[^']*')|(?: +"[^"]*"))*)/g)].map((m) => ({ text: `carapace${m[1]}`, line })),
  );
}

export function npmScriptMentions(doc: SkillDoc): Mention[] {
  return codeTexts(doc).flatMap(({ text, line }) => [...text.matchAll(/npm (?:run ([\w:-]+)|(test|start)\b)/g)].map((m) => ({ text: m[1] ?? m[2], line })));
}

const PATH_ROOTS = '(?:src|docs|scripts|test|bench|container|agent-skills|bin|\\.ci|\\.claude)';

/** Repository paths in code spans and blocks (placeholders like `<group>` and globs are not checked). */
export function pathMentions(doc: SkillDoc): Mention[] {
  const re = new RegExp(`(?<![\\w./~-])(${PATH_ROOTS}/(?:[\\w./-]*[\\w/])?|[A-Z][A-Z_]+\\.md|CLAUDE\\.md|package\\.json)(?![\\w<*])`, 'g');
  return codeTexts(doc).flatMap(({ text, line }) => [...text.matchAll(re)].filter((m) => !text.slice(m.index! + m[0].length).startsWith('<')).map((m) => ({ text: m[1], line })));
}

/** The text of inline code spans and of code blocks, with the line each starts on. */
function codeTexts(doc: SkillDoc): Mention[] {
  const out: Mention[] = [];
  const lines = doc.body.split('\n');
  let inBlock = false;
  let blockInfo = '';
  lines.forEach((text, i) => {
    const fence = /^\s*```+\s*(.*)$/.exec(text);
    if (fence) {
      inBlock = !inBlock;
      blockInfo = inBlock ? fence[1] : '';
      return;
    }
    if (inBlock) {
      if (/^(bash|sh|shell|console)?( rehearse)?$/.test(blockInfo)) out.push({ text, line: i + 1 });
      else out.push(...[...text.matchAll(/(?:^|\s)((?:src|docs|scripts)\/\S+)/g)].map((m) => ({ text: m[1], line: i + 1 })));
      return;
    }
    for (const m of text.matchAll(/`([^`]+)`/g)) out.push({ text: m[1], line: i + 1 });
  });
  return out;
}
