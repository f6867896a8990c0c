// `npm run check:structure`: measures the source tree against the limits in scripts/structure/rules.ts (file
// and function length, import cycles, imports up the layers, copied code) and fails when any is broken.
// Usage: node dist/scripts/check-structure.js [--json] [--root <repository>]
import { pathToFileURL } from 'node:url';
import { findCopies, findOnePlaceBreaches, type OnePlaceBreach, type Place } from './structure/copies.js';
import { functionsOf } from './structure/functions.js';
import { findBackArrows, findCycles, type Arrow } from './structure/graph.js';
import { MAX_FILE_LINES, MAX_FUNCTION_LINES, SIZE_LIMITED } from './structure/rules.js';
import { loadSources } from './structure/source.js';

export interface Measured {
  file: string;
  line: number;
  name: string;
  lines: number;
}

export interface StructureReport {
  files: number;
  largestFile?: Measured;
  longFiles: Measured[];
  longestFunction?: Measured;
  longFunctions: Measured[];
  cycles: string[][];
  backArrows: Arrow[];
  unlayered: string[];
  copies: Place[][];
  onePlace: OnePlaceBreach[];
  ok: boolean;
}

/** Measure the repository at `root`. */
export function checkStructure(root: string): StructureReport {
  const sources = loadSources(root);
  const limited = (path: string) => SIZE_LIMITED.some((p) => path.startsWith(p));
  const byLength = (a: Measured, b: Measured) => b.lines - a.lines;
  const fileSizes = sources.filter((f) => limited(f.path)).map((f) => ({ file: f.path, line: 1, name: f.path, lines: f.lines })).sort(byLength);
  const functions = sources.flatMap(functionsOf);
  const functionSizes = functions.filter((f) => limited(f.file)).map(({ file, line, name, lines }) => ({ file, line, name, lines })).sort(byLength);
  const { arrows, unlayered } = findBackArrows(sources);
  const report = {
    files: sources.length,
    largestFile: fileSizes[0],
    longFiles: fileSizes.filter((f) => f.lines > MAX_FILE_LINES),
    longestFunction: functionSizes[0],
    longFunctions: functionSizes.filter((f) => f.lines > MAX_FUNCTION_LINES),
    cycles: findCycles(sources),
    backArrows: arrows,
    unlayered,
    copies: findCopies(functions),
    onePlace: findOnePlaceBreaches(sources),
  };
  const broken = [report.longFiles, report.longFunctions, report.cycles, report.backArrows, report.unlayered, report.copies, report.onePlace];
  return { ...report, ok: broken.every((list) => list.length === 0) };
}

const at = (m: { file: string; line: number }) => `${m.file}:${m.line}`;
const mark = (n: number) => (n === 0 ? 'ok  ' : 'FAIL');

/** The report as a person reads it: the numbers first, then every problem with file:line. */
export function formatReport(r: StructureReport): string {
  const pairs = r.copies.reduce((n, g) => n + (g.length * (g.length - 1)) / 2, 0);
  const out = [
    `Structure check: ${r.files} files`,
    `  ${mark(r.longFiles.length)} largest file       ${r.largestFile ? `${r.largestFile.file} ${r.largestFile.lines} lines` : '-'} (limit ${MAX_FILE_LINES}; ${r.longFiles.length} over)`,
    `  ${mark(r.longFunctions.length)} longest function   ${r.longestFunction ? `${r.longestFunction.name} ${at(r.longestFunction)} ${r.longestFunction.lines} lines` : '-'} (limit ${MAX_FUNCTION_LINES}; ${r.longFunctions.length} over)`,
    `  ${mark(r.cycles.length)} import cycles      ${r.cycles.length}`,
    `  ${mark(r.backArrows.length + r.unlayered.length)} back-arrows        ${r.backArrows.length}${r.unlayered.length ? ` (+ ${r.unlayered.length} files in no layer)` : ''}`,
    `  ${mark(r.copies.length)} copies             ${pairs} pair${pairs === 1 ? '' : 's'} in ${r.copies.length} group${r.copies.length === 1 ? '' : 's'}`,
    `  ${mark(r.onePlace.length)} one idea, one place ${r.onePlace.length} broken`,
  ];
  const section = (title: string, lines: string[]) => lines.length > 0 && out.push('', `${title}:`, ...lines.map((l) => `  ${l}`));
  section(`Files over ${MAX_FILE_LINES} lines`, r.longFiles.map((f) => `${f.file} ${f.lines}`));
  section(`Functions over ${MAX_FUNCTION_LINES} lines`, r.longFunctions.map((f) => `${at(f)} ${f.name} ${f.lines}`));
  section('Import cycles', r.cycles.map((c) => c.join(' → ')));
  section('Back-arrows', r.backArrows.map((a) => `${a.from}:${a.line} imports ${a.to}: ${a.why}`));
  section('Files in no layer (add their folder to LAYERS in scripts/structure/rules.ts)', r.unlayered);
  section('Copies (same code under other names)', r.copies.map((g) => g.map((p) => `${p.name} ${at(p)}`).join('  =  ')));
  section('One idea, one place', r.onePlace.map((b) => `${b.name} (${b.why}) in ${[...new Set(b.uses.map((u) => u.file))].length} modules: ${b.uses.map(at).join(', ')}`));
  out.push('', r.ok ? 'Structure check passed.' : 'Structure check FAILED.');
  return out.join('\n');
}

/** The command line: the report (or JSON with --json) and the exit code, 1 when any limit is broken. */
export function runCheck(argv: string[], cwd = process.cwd()): { code: number; output: string } {
  const rootAt = argv.indexOf('--root');
  const root = rootAt >= 0 ? argv[rootAt + 1] : cwd;
  if (!root) return { code: 2, output: 'usage: check-structure [--json] [--root <repository>]' };
  const report = checkStructure(root);
  const output = argv.includes('--json') ? JSON.stringify(report, null, 2) : formatReport(report);
  return { code: report.ok ? 0 : 1, output };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { code, output } = runCheck(process.argv.slice(2));
  console.log(output);
  process.exitCode = code;
}
