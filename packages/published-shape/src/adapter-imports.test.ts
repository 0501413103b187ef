/**
 * The adapter-author API lives at `@burrow/sse-core/adapter`, and only there
 * since issue 24 removed the root's deprecated copies (the types both entry
 * points export, `SSERequest`, `SSEResponse` and `NextFunction`, are the
 * same types). Every package, app and example of this repository takes those
 * names from the subpath: this test reads the subpath's export list from
 * `packages/sse-core/src/adapter.ts` and fails on any import of one of those
 * names from `@burrow/sse-core`, which a JavaScript file would otherwise
 * find out only when it runs.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { repo } from "./pack.js";

const ROOT = "@burrow/sse-core";

/** The names a module exports with `export { … } from` / `export type { … } from`. */
function reExportedNames(source: string): string[] {
  const file = ts.createSourceFile("adapter.ts", source, ts.ScriptTarget.Latest);
  const names: string[] = [];
  for (const statement of file.statements) {
    if (!ts.isExportDeclaration(statement)) continue;
    const clause = statement.exportClause;
    if (clause === undefined || !ts.isNamedExports(clause)) continue;
    for (const element of clause.elements) names.push(element.name.text);
  }
  return names;
}

/** Each name of `names` that `source` takes from the root entry point of sse-core. */
function rootImportsOf(source: string, names: ReadonlySet<string>): string[] {
  const file = ts.createSourceFile("file.ts", source, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const namespaces = new Set<string>();
  const fromRoot = (node: ts.Node | undefined): boolean =>
    node !== undefined && ts.isStringLiteral(node) && node.text === ROOT;
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && fromRoot(node.moduleSpecifier)) {
      const bindings = node.importClause?.namedBindings;
      if (bindings !== undefined && ts.isNamespaceImport(bindings)) {
        namespaces.add(bindings.name.text);
      } else if (bindings !== undefined) {
        for (const element of bindings.elements) {
          found.push((element.propertyName ?? element.name).text);
        }
      }
    } else if (ts.isExportDeclaration(node) && fromRoot(node.moduleSpecifier)) {
      const clause = node.exportClause;
      if (clause !== undefined && ts.isNamedExports(clause)) {
        for (const element of clause.elements) {
          found.push((element.propertyName ?? element.name).text);
        }
      }
    } else if (
      ts.isImportTypeNode(node) &&
      ts.isLiteralTypeNode(node.argument) &&
      fromRoot(node.argument.literal) &&
      node.qualifier !== undefined
    ) {
      let first: ts.EntityName = node.qualifier;
      while (ts.isQualifiedName(first)) first = first.left;
      found.push(first.text);
    } else if (
      ts.isCallExpression(node) &&
      (node.expression.kind === ts.SyntaxKind.ImportKeyword ||
        (ts.isIdentifier(node.expression) && node.expression.text === "require")) &&
      fromRoot(node.arguments[0])
    ) {
      // `require("@burrow/sse-core").serveEvents` or `(await import(...)).x`: read below.
      let parent = node.parent;
      while (ts.isAwaitExpression(parent) || ts.isParenthesizedExpression(parent)) {
        parent = parent.parent;
      }
      if (ts.isPropertyAccessExpression(parent)) found.push(parent.name.text);
      if (ts.isVariableDeclaration(parent) && ts.isObjectBindingPattern(parent.name)) {
        for (const element of parent.name.elements) {
          const key = element.propertyName ?? element.name;
          if (ts.isIdentifier(key)) found.push(key.text);
        }
      }
      if (ts.isVariableDeclaration(parent) && ts.isIdentifier(parent.name)) {
        namespaces.add(parent.name.text);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  // Second pass: what is read off a namespace (`core.serveEvents`, `core.TopicsSource`).
  const reads = (node: ts.Node): void => {
    if (
      ts.isPropertyAccessExpression(node) &&
      ts.isIdentifier(node.expression) &&
      namespaces.has(node.expression.text)
    ) {
      found.push(node.name.text);
    } else if (
      ts.isQualifiedName(node) &&
      ts.isIdentifier(node.left) &&
      namespaces.has(node.left.text)
    ) {
      found.push(node.right.text);
    }
    ts.forEachChild(node, reads);
  };
  if (namespaces.size > 0) reads(file);
  return found.filter((name) => names.has(name));
}

/** Every source file under `dir` (TypeScript and JavaScript), outside `node_modules` and `dist`. */
function sourcesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    if (entry === "node_modules" || entry === "dist" || entry.startsWith(".")) continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...sourcesUnder(path));
    else if (/\.(ts|mts|cts|mjs|cjs|js)$/.test(entry)) out.push(path);
  }
  return out;
}

const adapterNames = new Set(
  reExportedNames(readFileSync(join(repo, "packages/sse-core/src/adapter.ts"), "utf8")),
);

describe("the adapter-author API", () => {
  it("is what @burrow/sse-core/adapter re-exports", () => {
    for (const name of ["serveEvents", "validateOptions", "withOnError", "TopicsSource"]) {
      expect(adapterNames).toContain(name);
    }
  });

  it("is recognized however a file takes it from the root entry point", () => {
    const sources = [
      `import { serveEvents } from "@burrow/sse-core";`,
      `import { type TopicsSource as T } from "@burrow/sse-core";`,
      `export { withOnError } from "@burrow/sse-core";`,
      `import * as core from "@burrow/sse-core"; core.validateOptions({});`,
      `import type * as core from "@burrow/sse-core"; let t: core.TopicsSource;`,
      `let t: import("@burrow/sse-core").TopicsSource;`,
      `const { validateBroker } = require("@burrow/sse-core");`,
      `const core = require("@burrow/sse-core"); core.resolveBroker(b);`,
      `const v = (await import("@burrow/sse-core")).validateTopics;`,
    ];
    for (const source of sources)
      expect(rootImportsOf(source, adapterNames), source).toHaveLength(1);
    const allowed = [
      `import { serveEvents } from "@burrow/sse-core/adapter";`,
      `import { EventBroker, handler } from "@burrow/sse-core";`,
      `import * as core from "@burrow/sse-core"; core.handler(b, "t");`,
      `const { EventBroker } = require("@burrow/sse-core");`,
    ];
    for (const source of allowed) expect(rootImportsOf(source, adapterNames), source).toEqual([]);
  });

  it("comes from @burrow/sse-core/adapter in every package, app, example and bench but core", () => {
    const dirs = ["packages", "apps"].flatMap((group) =>
      readdirSync(join(repo, group))
        .filter((name) => !(group === "packages" && name === "sse-core"))
        .map((name) => join(repo, group, name)),
    );
    dirs.push(join(repo, "bench"));
    const offenders: string[] = [];
    for (const dir of dirs) {
      for (const path of sourcesUnder(dir)) {
        for (const name of rootImportsOf(readFileSync(path, "utf8"), adapterNames)) {
          offenders.push(`${relative(repo, path)}: ${name}`);
        }
      }
    }
    expect(offenders).toEqual([]);
  });
});
