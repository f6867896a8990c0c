// Reading the tree: every .ts file under the scanned roots, parsed once, with its relative imports resolved
// to the files they name.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import ts from 'typescript';
import { ROOTS } from './rules.js';

export interface Import {
  /** Repository-relative path of the imported file. */
  target: string;
  line: number;
  typeOnly: boolean;
}

export interface SourceFile {
  /** Repository-relative, with forward slashes. */
  path: string;
  lines: number;
  ast: ts.SourceFile;
  imports: Import[];
}

/** All scanned files of the repository at `root`, sorted by path. */
export function loadSources(root: string): SourceFile[] {
  const paths = ROOTS.flatMap((r) => listTs(root, r)).sort();
  return paths.map((path) => parseSource(root, path));
}

function listTs(root: string, dir: string): string[] {
  const abs = join(root, dir);
  if (!existsSync(abs)) return [];
  return readdirSync(abs, { withFileTypes: true }).flatMap((e) => {
    const rel = posix.join(dir, e.name);
    if (e.isDirectory()) return listTs(root, rel);
    return e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [rel] : [];
  });
}

function parseSource(root: string, path: string): SourceFile {
  const text = readFileSync(join(root, path), 'utf8');
  const ast = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const lines = text.endsWith('\n') ? text.split('\n').length - 1 : text.split('\n').length;
  return { path, lines, ast, imports: collectImports(root, ast) };
}

function collectImports(root: string, ast: ts.SourceFile): Import[] {
  const found: Import[] = [];
  const add = (node: ts.Node, spec: ts.Expression | undefined, typeOnly: boolean) => {
    if (!spec || !ts.isStringLiteral(spec) || !spec.text.startsWith('.')) return;
    const target = resolveImport(root, ast.fileName, spec.text);
    if (target) found.push({ target, line: lineOf(ast, node), typeOnly });
  };
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node)) add(node, node.moduleSpecifier, isTypeOnlyImport(node));
    else if (ts.isExportDeclaration(node)) add(node, node.moduleSpecifier, node.isTypeOnly);
    else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) add(node, node.arguments[0], false);
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) add(node, node.argument.literal, true);
    ts.forEachChild(node, visit);
  };
  visit(ast);
  return found;
}

/** `import type {…}` or an import whose every named binding is `type`. */
function isTypeOnlyImport(node: ts.ImportDeclaration): boolean {
  const clause = node.importClause;
  if (!clause) return false;
  if (clause.isTypeOnly) return true;
  const named = clause.namedBindings;
  return !clause.name && !!named && ts.isNamedImports(named) && named.elements.length > 0 && named.elements.every((e) => e.isTypeOnly);
}

/** The .ts file a relative specifier names (`./x.js` is `./x.ts` under NodeNext), or undefined if none. */
function resolveImport(root: string, from: string, spec: string): string | undefined {
  const base = posix.normalize(posix.join(posix.dirname(from), spec));
  const candidates = [base.replace(/\.js$/, '.ts'), `${base}.ts`, posix.join(base, 'index.ts'), base];
  for (const c of candidates) {
    const abs = join(root, c);
    if (c.endsWith('.ts') && existsSync(abs) && statSync(abs).isFile()) return c;
  }
  return undefined;
}

export function lineOf(ast: ts.SourceFile, node: ts.Node): number {
  return ast.getLineAndCharacterOfPosition(node.getStart(ast)).line + 1;
}
