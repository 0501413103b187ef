/**
 * Issue 24, item 5: what the built declarations of `@burrow/sse-core` show a
 * user. A member marked `@internal` in the source (the broker's `open`,
 * `refuse`, `presenceSourceOf`: calls between core's own rooms) is stripped
 * from `dist/*.d.ts` (tsup's `dts.compilerOptions.stripInternal`), so an app
 * cannot see it, let alone call it. Runs against the built package (`pnpm
 * build` first; `pnpm test` does it).
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { repo } from "./pack.js";

const core = join(repo, "packages/sse-core");
const dist = join(core, "dist");
const declarationFiles = readdirSync(dist).filter((name) => /\.d\.c?ts$/.test(name));

/** The members of class `name` in `file` (its first declaration), with their modifiers and JSDoc tags. */
function membersOf(path: string, name: string): { name: string; hidden: boolean }[] {
  const file = ts.createSourceFile(path, readFileSync(path, "utf8"), ts.ScriptTarget.Latest, true);
  let found: ts.ClassDeclaration | undefined;
  const visit = (node: ts.Node): void => {
    if (found === undefined && ts.isClassDeclaration(node) && node.name?.text === name) {
      found = node;
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  if (found === undefined) throw new Error(`no class ${name} in ${path}`);
  return found.members.flatMap((member) => {
    if (member.name === undefined || ts.isConstructorDeclaration(member)) return [];
    const text = ts.isIdentifier(member.name) ? member.name.text : member.name.getText(file);
    const modifiers = ts.canHaveModifiers(member) ? (ts.getModifiers(member) ?? []) : [];
    const hidden =
      ts.isPrivateIdentifier(member.name) ||
      modifiers.some((modifier) => modifier.kind === ts.SyntaxKind.PrivateKeyword) ||
      ts.getJSDocTags(member).some((tag) => tag.tagName.text === "internal");
    return [{ name: text, hidden }];
  });
}

/** The names of the members a user sees: neither private nor `@internal`. */
const visible = (members: { name: string; hidden: boolean }[]): string[] =>
  [...new Set(members.filter((member) => !member.hidden).map((member) => member.name))].sort();

describe("the declarations of @burrow/sse-core", () => {
  it("were built (ESM and CJS, both entry points)", () => {
    for (const entry of ["index.d.ts", "index.d.cts", "adapter.d.ts", "adapter.d.cts"]) {
      expect(declarationFiles).toContain(entry);
    }
  });

  it("hold nothing marked @internal", () => {
    for (const name of declarationFiles) {
      expect(readFileSync(join(dist, name), "utf8"), name).not.toContain("@internal");
    }
  });

  it("show EventBroker's public members only: what the source declares neither private nor @internal", () => {
    const source = membersOf(join(core, "src/broker/broker.ts"), "EventBroker");
    const internal = source.filter((member) => member.hidden).map((member) => member.name);
    expect(internal).toEqual(expect.arrayContaining(["open", "refuse", "presenceSourceOf"]));
    const declared = declarationFiles
      .filter((name) =>
        readFileSync(join(dist, name), "utf8").includes("declare class EventBroker"),
      )
      .map((name) => visible(membersOf(join(dist, name), "EventBroker")));
    expect(declared).toHaveLength(2); // one in the ESM declarations, one in the CJS
    for (const members of declared) {
      expect(members).toEqual(visible(source));
      for (const name of internal) expect(members).not.toContain(name);
    }
  });
});
