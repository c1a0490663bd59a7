// @ts-check
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

/**
 * import-x/no-cycle skips type-only imports and has no option to count them; a circle of `import type` still ties
 * the rooms together (a change in one forces the type check of all). This rule reports any import, type-only or
 * not, through which the importing file can reach itself again. The graph is read with TypeScript's pre-processor
 * (every `import`, `import type`, `export ... from` and `import()`), relative specifiers only, once per lint run.
 */

/** @type {Map<string, string[]>} */
const graph = new Map();

/** @param {string} from @param {string} spec */
function resolveLocal(from, spec) {
  if (!spec.startsWith('.')) return null;
  const base = resolve(dirname(from), spec);
  for (const candidate of [base, `${base}.ts`, join(base, 'index.ts')]) {
    if (candidate.endsWith('.ts') && existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return null;
}

/** @param {string} file @param {string} [text] */
function importsOf(file, text) {
  let found = graph.get(file);
  if (!found) {
    const info = ts.preProcessFile(text ?? readFileSync(file, 'utf8'), true, true);
    found = [...new Set(info.importedFiles.map((f) => resolveLocal(file, f.fileName)).filter((f) => f !== null))];
    graph.set(file, found);
  }
  return found;
}

/** A path of imports from `start` back to `target`, or null. @param {string} start @param {string} target */
function pathBack(start, target) {
  /** @type {Map<string, string | null>} */
  const parent = new Map([[start, null]]);
  const queue = [start];
  while (queue.length) {
    const file = /** @type {string} */ (queue.shift());
    for (const next of importsOf(file)) {
      if (next === target) {
        const path = [file];
        for (let p = parent.get(file); p; p = parent.get(p)) path.unshift(p);
        return path;
      }
      if (!parent.has(next)) {
        parent.set(next, file);
        queue.push(next);
      }
    }
  }
  return null;
}

/** @type {import('eslint').Rule.RuleModule} */
const noImportCycle = {
  meta: {
    type: 'problem',
    docs: { description: 'Forbid import circles, type-only imports included.' },
    schema: [],
    messages: { cycle: 'Import circle (type imports count): {{path}}' },
  },
  create(context) {
    const file = context.physicalFilename;
    if (!file.endsWith('.ts')) return {};
    importsOf(file, context.sourceCode.text);
    const root = context.cwd;
    /** @param {import('estree').Node & { source?: unknown }} node */
    function check(node) {
      const source = /** @type {{ type: string; value?: unknown } | null | undefined} */ (node.source);
      if (!source || source.type !== 'Literal' || typeof source.value !== 'string') return;
      const target = resolveLocal(file, source.value);
      if (!target || target === file) return;
      const back = pathBack(target, file);
      if (!back) return;
      const path = [file, ...back, file].map((f) => relative(root, f)).join(' -> ');
      context.report({ node, messageId: 'cycle', data: { path } });
    }
    return {
      ImportDeclaration: check,
      ExportNamedDeclaration: check,
      ExportAllDeclaration: check,
      ImportExpression: check,
    };
  },
};

export default { rules: { 'no-import-cycle': noImportCycle } };
