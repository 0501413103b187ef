import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import type { Reply } from "./http.js";

const require = createRequire(import.meta.url);

// htmx and its SSE extension, served from node_modules (no CDN), and the stylesheet.
const ASSETS: Record<string, { file: string; type: string }> = {
  "htmx.min.js": { file: require.resolve("htmx.org/dist/htmx.min.js"), type: "text/javascript" },
  "sse.js": { file: require.resolve("htmx-ext-sse/dist/sse.js"), type: "text/javascript" },
  "app.css": {
    file: fileURLToPath(new URL("../../public/app.css", import.meta.url)),
    type: "text/css",
  },
};

/** The htmx version the page loads, shown in its footer. */
export const HTMX_VERSION = (require("htmx.org/package.json") as { version: string }).version;

const cache = new Map<string, Buffer>();

/** The asset called `name` as a reply (read once, then from memory), or `undefined`. */
export function assetReply(name: string): Reply | undefined {
  const asset = Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined;
  if (asset === undefined) return undefined;
  let body = cache.get(name);
  if (body === undefined) {
    body = readFileSync(asset.file);
    cache.set(name, body);
  }
  return {
    status: 200,
    headers: {
      "Content-Type": `${asset.type}; charset=utf-8`,
      "Cache-Control": "no-cache",
      "X-Content-Type-Options": "nosniff",
    },
    body,
  };
}
