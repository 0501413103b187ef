import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitepress";
import { githubSlug, REPO_URL, repoLink } from "../scripts/links.mjs";

// The site is built from docs/ (its pages are the docs/*.md files), into
// docs/.vitepress/dist (git-ignored). `pnpm docs` builds it; `pnpm docs:dev` serves it.
const sidebarFile = fileURLToPath(new URL("../api/typedoc-sidebar.json", import.meta.url));
const apiSidebar = existsSync(sidebarFile) ? JSON.parse(readFileSync(sidebarFile, "utf8")) : [];

// Every published package, whose README is its full reference.
const PACKAGES = [
  "sse-core",
  "sse-express",
  "sse-koa",
  "sse-fastify",
  "sse-registry",
  "sse-redis",
  "sse-postgres",
  "sse-prometheus",
];

export default defineConfig({
  title: "Burrow SSE",
  description: "Server-Sent Events for Node.js, made to pair with htmx.",
  cleanUrls: false,
  lastUpdated: false,
  // No fonts, analytics or search service fetched from elsewhere: the site builds and reads offline.
  themeConfig: {
    search: { provider: "local" },
    nav: [
      { text: "Start", link: "/start/core" },
      { text: "Recipes", link: "/recipes/htmx" },
      { text: "Guarantees", link: "/guarantees" },
      { text: "API", link: "/api/" },
    ],
    sidebar: {
      "/api/": [{ text: "API reference", link: "/api/" }, ...apiSidebar],
      "/": [
        {
          text: "Five-minute starts",
          items: [
            { text: "Only sse-core", link: "/start/core" },
            { text: "Express", link: "/start/express" },
            { text: "Koa", link: "/start/koa" },
            { text: "Fastify", link: "/start/fastify" },
            { text: "The registry (plugin apps)", link: "/start/registry" },
            { text: "Scale-out (Redis, PostgreSQL)", link: "/start/scale-out" },
          ],
        },
        {
          text: "Recipes",
          items: [
            { text: "htmx 4 and htmx 2 pages", link: "/recipes/htmx" },
            { text: "Request streams", link: "/recipes/request-streams" },
            { text: "Auth: cookies and tokens", link: "/recipes/auth" },
            { text: "Behind nginx and other proxies", link: "/recipes/proxies" },
            { text: "Compression", link: "/recipes/compression" },
            { text: "Hono and Next.js", link: "/recipes/fetch-handlers" },
            { text: "Several processes", link: "/cluster" },
          ],
        },
        {
          text: "Guarantees",
          items: [
            { text: "Overview", link: "/guarantees" },
            { text: "Reliability", link: "/reliability" },
            { text: "Security", link: "/security" },
            { text: "Performance", link: "/performance" },
            { text: "Architecture", link: "/architecture" },
          ],
        },
        {
          text: "Package READMEs (reference)",
          collapsed: true,
          items: PACKAGES.map((name) => ({
            text: `@burrow/${name}`,
            link: `${REPO_URL}/tree/main/packages/${name}`,
          })),
        },
        { text: "API reference", link: "/api/" },
      ],
    },
  },
  markdown: {
    // GitHub's heading ids, so that docs/*.md links work the same on GitHub and on the site.
    anchor: { slugify: githubSlug },
    config(md) {
      // Links out of docs/ (package READMEs, tests, examples) go to the repository's files.
      const render = md.renderer.rules.link_open;
      md.renderer.rules.link_open = (tokens, idx, options, env, self) => {
        const href = tokens[idx].attrGet("href");
        const out = href && repoLink(href, env.relativePath);
        if (out) tokens[idx].attrSet("href", out);
        return render
          ? render(tokens, idx, options, env, self)
          : self.renderToken(tokens, idx, options);
      };
    },
  },
  ignoreDeadLinks: false,
  // The API reference and local search make one large chunk; it is served locally, never fetched.
  vite: { build: { chunkSizeWarningLimit: 4000 } },
  srcExclude: ["**/node_modules/**", "scripts/**", "README.md"],
});
