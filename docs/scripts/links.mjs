/**
 * What the site and its link check share: GitHub's heading ids, and the
 * rewrite of links that leave docs/ (package READMEs, tests, examples) into
 * links to the repository's files.
 */
import { existsSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository's root on this machine. */
export const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));
/** The docs folder: the site's source. */
export const DOCS_ROOT = join(REPO_ROOT, "docs");
/** Where the repository's files are read on the web (package.json's `repository`). */
export const REPO_URL = "https://github.com/burrow-sse/burrow-sse";

/**
 * GitHub's id for a heading (github-slugger): lower case, punctuation
 * dropped, each space a hyphen. The site uses the same ids, so a link such
 * as `reliability.md#resume` works on GitHub and on the site alike.
 */
export function githubSlug(text) {
  return text
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "")
    .replace(/ /g, "-");
}

/**
 * The repository URL for `href`, a relative link in the page at
 * `page` (relative to docs/), when it leads out of docs/; otherwise
 * undefined (a link between pages, an anchor, an external URL).
 */
export function repoLink(href, page) {
  if (/^[a-z][a-z0-9+.-]*:|^\/|^#/i.test(href)) return undefined;
  const [path, anchor] = href.split("#", 2);
  const file = resolve(DOCS_ROOT, dirname(page), decodeURIComponent(path));
  const inRepo = relative(REPO_ROOT, file);
  if (!relative(DOCS_ROOT, file).startsWith("..")) return undefined;
  if (inRepo.startsWith("..")) return undefined;
  const kind = existsSync(file) && statSync(file).isDirectory() ? "tree" : "blob";
  return `${REPO_URL}/${kind}/main/${inRepo.split("\\").join("/")}${anchor ? `#${anchor}` : ""}`;
}
