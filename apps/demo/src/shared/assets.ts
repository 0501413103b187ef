import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import type { Reply } from "./http.js";

const require = createRequire(import.meta.url);

const script = (file: string) => ({ file: require.resolve(file), type: "text/javascript" });

// htmx 4 and its hx-sse extension, htmx 2 and htmx-ext-sse, all served from
// node_modules (no CDN), and the stylesheet.
const ASSETS: Record<string, { file: string; type: string }> = {
  "htmx4.min.js": script("htmx.org/dist/htmx.min.js"),
  "hx-sse.js": script("htmx.org/dist/ext/hx-sse.js"),
  "htmx2.min.js": script("htmx2/dist/htmx.min.js"),
  "sse.js": script("htmx-ext-sse/dist/sse.js"),
  "app.css": {
    file: fileURLToPath(new URL("../../public/app.css", import.meta.url)),
    type: "text/css",
  },
};

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
