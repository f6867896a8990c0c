// The .env file: `NAME=value` lines, `#` comments, optional `export `, single or double quotes (double quotes
// understand \n, \t, \" and \\ and may span lines). Unlike node:util parseEnv, a line it cannot read is reported
// with its number instead of being dropped (together with the line after it).

export interface DotenvProblem {
  line: number;
  message: string;
}

export interface DotenvResult {
  values: Record<string, string>;
  problems: DotenvProblem[];
}

const ASSIGNMENT = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s?(.*)$/;
const ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', '"': '"', '\\': '\\' };

/** A double-quoted value from `rest` (after the opening quote), possibly continued on the following lines. */
function doubleQuoted(lines: string[], start: number, rest: string): { value: string; end: number } | undefined {
  let text = rest;
  for (let i = start; i < lines.length; i++) {
    const close = /^((?:[^"\\]|\\.)*)"\s*(?:#.*)?$/.exec(text);
    if (close) return { value: close[1].replace(/\\(.)/g, (all, c: string) => ESCAPES[c] ?? all), end: i };
    if (i + 1 < lines.length) text += `\n${lines[i + 1]}`;
  }
  return undefined;
}

/** One value after `NAME=`: quoted, or bare up to a ` #` comment. */
function readValue(lines: string[], index: number, raw: string): { value: string; end: number } | { error: string } {
  const rest = raw.trimStart();
  if (rest.startsWith('"')) return doubleQuoted(lines, index, rest.slice(1)) ?? { error: 'the opening " is never closed' };
  if (rest.startsWith("'")) {
    const m = /^'([^']*)'\s*(?:#.*)?$/.exec(rest);
    return m ? { value: m[1], end: index } : { error: "the opening ' is not closed on the same line" };
  }
  if (/^[`]/.test(rest)) return { error: 'backquotes are not supported; use "double" or \'single\' quotes' };
  return { value: rest.replace(/\s+#.*$/, '').trim(), end: index };
}

export function parseDotenv(text: string): DotenvResult {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const values: Record<string, string> = {};
  const problems: DotenvProblem[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (/^\s*(#.*)?$/.test(line)) continue;
    const m = ASSIGNMENT.exec(line);
    if (!m) {
      problems.push({ line: i + 1, message: 'expected NAME=value (NAME: letters, digits and _, not starting with a digit)' });
      continue;
    }
    const read = readValue(lines, i, m[2]);
    if ('error' in read) {
      problems.push({ line: i + 1, message: `${m[1]}: ${read.error}` });
      continue;
    }
    values[m[1]] = read.value;
    i = read.end;
  }
  return { values, problems };
}
