/**
 * Workflow code runs in Temporal's deterministic sandbox and is replayed: it may import only
 * @temporalio/workflow, @temporalio/common, zod, and relative modules that obey the same rule
 * (followed transitively, wherever they live, e.g. src/cloud/errors.ts). Type-only imports are
 * erased at compile time, so they may name anything (e.g. the activities' interface).
 * Clock, randomness, timers and the process are forbidden in all of that code.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, extname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ALLOWED_PACKAGES = ['@temporalio/workflow', '@temporalio/common', 'zod'];
/** `object.member` uses that make a workflow non-deterministic or reach outside the sandbox. */
const FORBIDDEN_MEMBERS = new Set(['Date.now', 'Math.random']);
const FORBIDDEN_OBJECTS = new Set(['process']);
const FORBIDDEN_CALLS = new Set(['setTimeout']);

type ReadSource = (path: string) => string | undefined;

interface Violation {
  file: string;
  line: number;
  problem: string;
}

function isAllowedPackage(specifier: string): boolean {
  return ALLOWED_PACKAGES.some((name) => specifier === name || specifier.startsWith(`${name}/`));
}

/** `import type …`, or `import { type A, type B }`: erased by TypeScript and by the workflow bundler. */
function isTypeOnlyImport(node: ts.ImportDeclaration): boolean {
  const clause = node.importClause;
  if (clause === undefined) return false; // `import 'x'` runs x
  if (clause.isTypeOnly) return true;
  const bindings = clause.namedBindings;
  return (
    clause.name === undefined &&
    bindings !== undefined &&
    ts.isNamedImports(bindings) &&
    bindings.elements.length > 0 &&
    bindings.elements.every((element) => element.isTypeOnly)
  );
}

function isTypeOnlyExport(node: ts.ExportDeclaration): boolean {
  if (node.isTypeOnly) return true;
  const clause = node.exportClause;
  return clause !== undefined && ts.isNamedExports(clause) && clause.elements.length > 0 && clause.elements.every((element) => element.isTypeOnly);
}

/** `./x.js` → the TypeScript file it names. */
function resolveRelative(fromFile: string, specifier: string, readSource: ReadSource): string | undefined {
  const target = resolve(dirname(fromFile), specifier);
  const candidates =
    extname(target) === '.js' ? [target.replace(/\.js$/, '.ts'), target] : [target, `${target}.ts`, join(target, 'index.ts')];
  return candidates.find((candidate) => readSource(candidate) !== undefined);
}

/** Every violation in the given workflow files and in every relative module they import for its value. */
function checkWorkflowModules(entryFiles: readonly string[], readSource: ReadSource): Violation[] {
  const violations: Violation[] = [];
  const queue = [...entryFiles];
  const visited = new Set<string>();
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    if (visited.has(file)) continue;
    visited.add(file);
    const source = readSource(file);
    if (source === undefined) {
      violations.push({ file, line: 0, problem: 'cannot read this file' });
      continue;
    }
    const sourceFile = ts.createSourceFile(file, source, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
    const report = (node: ts.Node, problem: string) =>
      violations.push({ file, line: sourceFile.getLineAndCharacterOfPosition(node.getStart(sourceFile)).line + 1, problem });

    const checkValueImport = (node: ts.Node, specifier: string) => {
      if (isAllowedPackage(specifier)) return;
      if (specifier.startsWith('./') || specifier.startsWith('../')) {
        const target = resolveRelative(file, specifier, readSource);
        if (target === undefined) report(node, `imports "${specifier}", which does not resolve to a file`);
        else queue.push(target);
        return;
      }
      report(node, `imports "${specifier}"; workflow code may import only ${ALLOWED_PACKAGES.join(', ')} and pure relative modules`);
    };

    const visit = (node: ts.Node): void => {
      if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
        if (!isTypeOnlyImport(node)) checkValueImport(node, node.moduleSpecifier.text);
      } else if (ts.isExportDeclaration(node) && node.moduleSpecifier !== undefined && ts.isStringLiteral(node.moduleSpecifier)) {
        if (!isTypeOnlyExport(node)) checkValueImport(node, node.moduleSpecifier.text);
      } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
        report(node, 'uses import = require(); use an ES import of an allowed module');
      } else if (ts.isCallExpression(node)) {
        if (node.expression.kind === ts.SyntaxKind.ImportKeyword) report(node, 'uses a dynamic import()');
        if (ts.isIdentifier(node.expression) && node.expression.text === 'require') report(node, 'calls require()');
        if (ts.isIdentifier(node.expression) && FORBIDDEN_CALLS.has(node.expression.text)) {
          report(node, `calls ${node.expression.text}(); use sleep() from @temporalio/workflow`);
        }
      } else if (ts.isPropertyAccessExpression(node) || ts.isElementAccessExpression(node)) {
        if (ts.isIdentifier(node.expression)) {
          const object = node.expression.text;
          if (FORBIDDEN_OBJECTS.has(object)) report(node, `uses ${object}.`);
          if (ts.isPropertyAccessExpression(node) && FORBIDDEN_MEMBERS.has(`${object}.${node.name.text}`)) {
            report(node, `uses ${object}.${node.name.text}`);
          }
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(sourceFile);
  }
  return violations;
}

function readSourceFromDisk(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function typeScriptFilesUnder(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts'))
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

const repositoryRoot = fileURLToPath(new URL('../../', import.meta.url));
const workflowsDir = join(repositoryRoot, 'src', 'workflows');

function describeViolations(violations: readonly Violation[]): string[] {
  return violations.map((violation) => `${relative(repositoryRoot, violation.file)}:${violation.line}: ${violation.problem}`);
}

describe('workflow code imports only deterministic, sandbox-safe modules', () => {
  it('holds for every file under src/workflows and everything they import', () => {
    const workflowFiles = typeScriptFilesUnder(workflowsDir);
    expect(workflowFiles.map((file) => relative(workflowsDir, file))).toEqual(expect.arrayContaining(['model.ts', 'input.ts']));
    expect(describeViolations(checkWorkflowModules(workflowFiles, readSourceFromDisk))).toEqual([]);
  });
});

describe('the workflow import check itself', () => {
  const root = '/virtual/src';
  const check = (files: Record<string, string>, entry = `${root}/workflows/entry.ts`) =>
    checkWorkflowModules([entry], (path) => files[path]).map((violation) => `${relative(root, violation.file)}:${violation.line}: ${violation.problem}`);

  it('rejects a Node built-in such as node:fs', () => {
    const problems = check({ [`${root}/workflows/entry.ts`]: "import fs from 'node:fs';\nexport const x = fs;\n" });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('workflows/entry.ts:1: imports "node:fs"');
  });

  it('accepts allowed packages, pure relative modules, type-only imports, and forbidden words in strings and comments', () => {
    const problems = check({
      [`${root}/workflows/entry.ts`]: [
        "import { sleep } from '@temporalio/workflow';",
        "import { ApplicationFailure } from '@temporalio/common';",
        "import { z } from 'zod';",
        "import { classify } from '../cloud/errors.js';",
        "import type { Activities } from '../activities/index.js';",
        "import { type Stat } from 'node:fs';",
        "export type { Other } from '../worker.js';",
        '// Date.now() and Math.random() are replaced by the sandbox; setTimeout( is not used.',
        "export const details = 'the deletion process. setTimeout(';",
      ].join('\n'),
      [`${root}/cloud/errors.ts`]: 'export function classify(code: string): string { return code; }\n',
    });
    expect(problems).toEqual([]);
  });

  it('follows relative imports transitively and reports the impure module', () => {
    const problems = check({
      [`${root}/workflows/entry.ts`]: "import { helper } from './helper.js';\nexport const y = helper;\n",
      [`${root}/workflows/helper.ts`]: "export { token } from '../cloud/token.js';\nexport const helper = 1;\n",
      [`${root}/cloud/token.ts`]: "import { randomUUID } from 'node:crypto';\nexport const token = randomUUID();\n",
    });
    expect(problems).toEqual([expect.stringContaining('cloud/token.ts:1: imports "node:crypto"')]);
  });

  it('rejects the clock, randomness, timers, the process, require and dynamic import', () => {
    const problems = check({
      [`${root}/workflows/entry.ts`]: [
        'export const now = Date.now();',
        'export const dice = Math.random();',
        'export const region = process.env.REGION;',
        'setTimeout(() => undefined, 10);',
        "export const lazy = import('node:os');",
        "import os = require('node:os');",
        "import { readFileSync, type Stats } from 'node:fs';",
        "import './side-effect.js';",
      ].join('\n'),
    });
    expect(problems).toEqual([
      'workflows/entry.ts:1: uses Date.now',
      'workflows/entry.ts:2: uses Math.random',
      'workflows/entry.ts:3: uses process.',
      'workflows/entry.ts:4: calls setTimeout(); use sleep() from @temporalio/workflow',
      'workflows/entry.ts:5: uses a dynamic import()',
      'workflows/entry.ts:6: uses import = require(); use an ES import of an allowed module',
      expect.stringContaining('workflows/entry.ts:7: imports "node:fs"'),
      'workflows/entry.ts:8: imports "./side-effect.js", which does not resolve to a file',
    ]);
  });
});
