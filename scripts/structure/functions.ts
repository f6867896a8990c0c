// Every function in a file, named as a reader would look for it, with its length in lines.
import ts from 'typescript';
import { lineOf, type SourceFile } from './source.js';

export interface FunctionInfo {
  file: string;
  name: string;
  line: number;
  lines: number;
  node: ts.FunctionLikeDeclaration;
  /** The function this one is written inside, if any. */
  parent?: FunctionInfo;
}

/**
 * All function-like nodes: declarations, methods, accessors, constructors, function expressions and arrow
 * functions. Anonymous callbacks count too (a 100-line handler passed to `createServer` is a long function);
 * they are named after where they are written.
 */
export function functionsOf(file: SourceFile): FunctionInfo[] {
  const found: FunctionInfo[] = [];
  const visit = (node: ts.Node, parent: FunctionInfo | undefined) => {
    let here = parent;
    if (isFunctionLike(node) && node.body) {
      const start = lineOf(file.ast, node);
      const end = file.ast.getLineAndCharacterOfPosition(node.getEnd()).line + 1;
      here = { file: file.path, name: nameOf(node, parent), line: start, lines: end - start + 1, node, parent };
      found.push(here);
    }
    ts.forEachChild(node, (child) => visit(child, here));
  };
  visit(file.ast, undefined);
  return found;
}

function isFunctionLike(node: ts.Node): node is ts.FunctionLikeDeclaration {
  return (
    ts.isFunctionDeclaration(node) ||
    ts.isMethodDeclaration(node) ||
    ts.isConstructorDeclaration(node) ||
    ts.isGetAccessorDeclaration(node) ||
    ts.isSetAccessorDeclaration(node) ||
    ts.isFunctionExpression(node) ||
    ts.isArrowFunction(node)
  );
}

function nameOf(node: ts.FunctionLikeDeclaration, parent: FunctionInfo | undefined): string {
  const own = node.name ?? assignedName(node);
  const owner = ts.isPropertyDeclaration(node.parent) ? node.parent.parent : node.parent; // `x = () => …` in a class
  const className = ts.isClassLike(owner) ? owner.name?.text : undefined;
  if (ts.isConstructorDeclaration(node)) return `${className ?? '<class>'}.constructor`;
  if (own) return className ? `${className}.${own.getText()}` : own.getText();
  return `<callback${parent ? ` in ${parent.name}` : ''}>`;
}

/** The name an anonymous function is bound to: `const f = () => …`, `{ f: () => … }`, `f = () => …` in a class. */
function assignedName(node: ts.Node): ts.Node | undefined {
  const p = node.parent;
  if (ts.isVariableDeclaration(p) || ts.isPropertyAssignment(p) || ts.isPropertyDeclaration(p)) return p.name;
  if (ts.isBinaryExpression(p) && p.operatorToken.kind === ts.SyntaxKind.EqualsToken) return p.left;
  return undefined;
}
