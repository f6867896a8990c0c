// Repeated ideas: function bodies that are the same code under other names, and the few ideas that must be
// written in one module only (rules.ts, ONE_PLACE).
import { createHash } from 'node:crypto';
import ts from 'typescript';
import type { FunctionInfo } from './functions.js';
import { COPY_MIN_LINES, COPY_MIN_STATEMENTS, ONE_PLACE } from './rules.js';
import { lineOf, type SourceFile } from './source.js';

export interface Place {
  file: string;
  line: number;
  name: string;
}

/**
 * Groups of two or more functions whose bodies have the same shape once every identifier and literal is
 * replaced by its kind. A copy inside a copy is not reported again: folding the outer one folds it too.
 */
export function findCopies(functions: FunctionInfo[]): Place[][] {
  const byShape = new Map<string, FunctionInfo[]>();
  for (const f of functions) {
    const body = f.node.body!;
    if (lineSpan(body) < COPY_MIN_LINES || countStatements(body) < COPY_MIN_STATEMENTS) continue;
    const key = shapeHash(body);
    byShape.set(key, [...(byShape.get(key) ?? []), f]);
  }
  const copied = new Set([...byShape.values()].filter((g) => g.length > 1).flat());
  const insideCopy = (f: FunctionInfo) => {
    for (let p = f.parent; p; p = p.parent) if (copied.has(p)) return true;
    return false;
  };
  return [...byShape.values()]
    .map((group) => group.filter((f) => !insideCopy(f)))
    .filter((group) => group.length > 1)
    .map((group) => group.map((f) => ({ file: f.file, line: f.line, name: f.name })));
}

/** A digest of the node's syntax kinds, depth first; names and values are left out on purpose. */
export function shapeHash(node: ts.Node): string {
  const hash = createHash('sha256');
  const visit = (n: ts.Node) => {
    hash.update(`${n.kind}(`);
    if (!isNameOrLiteral(n)) ts.forEachChild(n, visit);
    hash.update(')');
  };
  visit(node);
  return hash.digest('hex');
}

function isNameOrLiteral(n: ts.Node): boolean {
  return ts.isIdentifier(n) || ts.isPrivateIdentifier(n) || ts.isLiteralExpression(n) || ts.isTemplateLiteral(n) || n.kind === ts.SyntaxKind.TrueKeyword || n.kind === ts.SyntaxKind.FalseKeyword;
}

function lineSpan(node: ts.Node): number {
  const ast = node.getSourceFile();
  return ast.getLineAndCharacterOfPosition(node.getEnd()).line - ast.getLineAndCharacterOfPosition(node.getStart(ast)).line + 1;
}

function countStatements(node: ts.Node): number {
  let n = 0;
  const visit = (c: ts.Node) => {
    if (ts.isStatement(c) && !ts.isBlock(c)) n++;
    ts.forEachChild(c, visit);
  };
  ts.forEachChild(node, visit);
  return n;
}

export interface OnePlaceBreach {
  name: string;
  why: string;
  uses: Place[];
}

/** Each ONE_PLACE idea that is used in more than one src module, with every use. */
export function findOnePlaceBreaches(files: SourceFile[]): OnePlaceBreach[] {
  const breaches: OnePlaceBreach[] = [];
  for (const idea of ONE_PLACE) {
    const uses = files.filter((f) => f.path.startsWith('src/')).flatMap((f) => usesOf(f, idea.name));
    if (new Set(uses.map((u) => u.file)).size > 1) breaches.push({ name: idea.name, why: idea.why, uses });
  }
  return breaches;
}

/** Where `name` (an identifier or a dotted access) is used, imports aside: importing is not yet using. */
function usesOf(file: SourceFile, name: string): Place[] {
  const uses: Place[] = [];
  const dotted = name.includes('.');
  const visit = (n: ts.Node) => {
    if (ts.isImportDeclaration(n)) return;
    const hit = dotted ? ts.isPropertyAccessExpression(n) && n.getText(file.ast) === name : ts.isIdentifier(n) && n.text === name;
    if (hit) uses.push({ file: file.path, line: lineOf(file.ast, n), name });
    ts.forEachChild(n, visit);
  };
  visit(file.ast);
  return uses;
}
