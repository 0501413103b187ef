/**
 * The runnable examples of the site's pages: each `js` block right after a
 * `<!-- runnable: NAME -->` line, written to `docs/.examples/NAME.mjs`
 * (git-ignored) so that it imports the workspace's built packages through
 * docs/node_modules, as a user's file imports the installed ones.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

/** The docs folder. */
export const DOCS = fileURLToPath(new URL("..", import.meta.url));

/** One runnable block. */
export interface Runnable {
  name: string;
  /** The page it is on, relative to docs/. */
  page: string;
  code: string;
  /** Where it is written to run. */
  file: string;
}

/** Every page of the site that is written by hand (not the generated API reference). */
export function pages(dir = DOCS): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      return /^(\.|node_modules$|api$)/.test(entry.name) ? [] : pages(path);
    }
    return entry.name.endsWith(".md") ? [relative(DOCS, path)] : [];
  });
}

const MARK = /<!-- runnable: ([\w-]+) -->\n(```js\n([\s\S]*?)\n```)?/g;

/**
 * The runnable blocks of every page, written to docs/.examples. Throws when
 * a mark is not followed by a `js` block or a name is used twice.
 */
export function extractRunnables(): Map<string, Runnable> {
  const found = new Map<string, Runnable>();
  mkdirSync(join(DOCS, ".examples"), { recursive: true });
  for (const page of pages()) {
    for (const [, name, block, code] of readFileSync(join(DOCS, page), "utf8").matchAll(MARK)) {
      if (!block || code === undefined) {
        throw new Error(`${page}: <!-- runnable: ${name} --> must be followed by a js block`);
      }
      if (found.has(name!))
        throw new Error(`${page}: runnable ${name} is also on ${found.get(name!)!.page}`);
      const file = join(DOCS, ".examples", `${name}.mjs`);
      // Written whole under a name of its own, then renamed: test files that
      // extract at once never run a half-written example.
      const temporary = `${file}.${process.pid}`;
      writeFileSync(temporary, `${code}\n`);
      renameSync(temporary, file);
      found.set(name!, { name: name!, page, code, file });
    }
  }
  return found;
}

/** The npm package a module specifier names (`@burrow/sse-core/adapter` → `@burrow/sse-core`). */
export function packageOf(specifier: string): string {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!;
}

/** The packages a block loads: imports, dynamic imports and `require.resolve`d files. */
export function packagesUsed(code: string): string[] {
  const specifiers = [
    ...code.matchAll(/\bfrom "([^"]+)"/g),
    ...code.matchAll(/\bimport\("([^"]+)"\)/g),
    ...code.matchAll(/\bresolve\(["`]([^"`$]+)/g),
  ].map((m) => m[1]!);
  return [...new Set(specifiers.filter((s) => !s.startsWith("node:")).map(packageOf))];
}

/** The packages the `npm install` lines of a page install. */
export function packagesInstalled(markdown: string): string[] {
  return [...markdown.matchAll(/npm install ([^\n]+)/g)].flatMap((m) =>
    m[1]!
      .split(/\s+/)
      .filter((word) => /^[@a-z]/.test(word))
      .map((word) => /^(@?[^@]+)/.exec(word)![1]!),
  );
}
