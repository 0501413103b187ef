/**
 * The site's link check, offline: every link of every built page that stays
 * on the site must reach a built page, and its anchor an id on that page; a
 * link to the repository's files (what leaves docs/) must name a file that
 * exists, and its anchor a heading of that file. Other external links are
 * not fetched. Exits 1, listing each broken link and the page it is on.
 *
 * Usage: node scripts/check-links.mjs [dist folder]
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, posix, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { githubSlug, REPO_ROOT, REPO_URL } from "./links.mjs";

const dist = process.argv[2] ?? fileURLToPath(new URL("../.vitepress/dist", import.meta.url));

const decode = (text) =>
  text
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&");

function* htmlFiles(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* htmlFiles(path);
    else if (entry.name.endsWith(".html")) yield path;
  }
}

/** The ids a built page holds. */
const pageIds = new Map();
function idsOf(file) {
  if (!pageIds.has(file)) {
    const html = readFileSync(file, "utf8");
    pageIds.set(file, new Set([...html.matchAll(/\sid="([^"]*)"/g)].map((m) => decode(m[1]))));
  }
  return pageIds.get(file);
}

/** GitHub's ids for the headings of a repository Markdown file (outside code fences). */
export function headingIds(markdown) {
  const ids = new Set();
  const seen = new Map();
  let fenced = false;
  for (const line of markdown.split("\n")) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    const heading = !fenced && /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!heading) continue;
    const text = heading[1]
      .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1")
      .replace(/<[^>]+>/g, "")
      .replace(/[`*]/g, "");
    const slug = githubSlug(text);
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    ids.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return ids;
}

/** Why `href` on the built page `page` is broken, or undefined when it resolves. */
function broken(href, page) {
  const [target, anchor] = decode(href).split("#", 2);
  if (target.startsWith(`${REPO_URL}/`)) {
    const path = /^\/(?:blob|tree)\/main\/(.*)$/.exec(target.slice(REPO_URL.length))?.[1];
    if (path === undefined) return undefined; // issues, the repository's front page
    const file = join(REPO_ROOT, decodeURIComponent(path));
    if (!existsSync(file)) return `no file ${path} in the repository`;
    if (!anchor) return undefined;
    if (!file.endsWith(".md")) return `an anchor on ${path}, which is not Markdown`;
    return headingIds(readFileSync(file, "utf8")).has(anchor)
      ? undefined
      : `no heading #${anchor} in ${path}`;
  }
  if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith("//")) return undefined;
  let file = page;
  if (target !== "") {
    const base = posix.dirname(`/${relative(dist, page).split("\\").join("/")}`);
    const path = decodeURIComponent(target.split("?")[0]);
    const absolute = path.startsWith("/") ? path : posix.join(base, path);
    file = join(dist, absolute);
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, "index.html");
    else if (!existsSync(file) && existsSync(`${file}.html`)) file = `${file}.html`;
    if (!existsSync(file)) return `no page ${absolute}`;
  }
  if (!anchor || !file.endsWith(".html")) return undefined;
  return idsOf(file).has(anchor) ? undefined : `no #${anchor} on ${relative(dist, file)}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (!existsSync(dist)) {
    console.error(`check-links: no built site at ${dist}; run \`pnpm docs\` first`);
    process.exit(2);
  }
  const problems = [];
  let links = 0;
  for (const page of htmlFiles(dist)) {
    const html = readFileSync(page, "utf8");
    for (const [, href] of html.matchAll(/\shref="([^"]*)"/g)) {
      if (href === "#") continue;
      links++;
      const why = broken(href, page);
      if (why) problems.push(`${relative(dist, page)}: ${href}: ${why}`);
    }
  }
  for (const problem of problems) console.error(problem);
  console.log(`check-links: ${links} links, ${problems.length} broken`);
  process.exit(problems.length ? 1 : 0);
}
