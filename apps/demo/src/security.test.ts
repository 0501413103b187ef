import { rawClient, waitFor } from "@burrow/test-utils";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { FRAMEWORKS } from "./shared/plugin.js";
import type { RunningDemo } from "./start.js";
import { startRunning } from "./testing.js";

// The attacks on the demo's own routes, over real HTTP on every framework:
// an open redirect through the `back` field, a cross-origin POST, a
// malformed URL. The browser half (no script or hx-on handler that slips
// into a fragment runs, on htmx 2 and htmx 4) is in browser.test.ts.

/** `back` values a browser's URL parser resolves to another origin if echoed as a `Location`. */
const REDIRECT_TRICKS = [
  "//evil.example",
  "/\\evil.example",
  "\\/evil.example",
  "\\\\evil.example",
  "/\\/evil.example",
  "/\t/evil.example",
  "/\n/evil.example",
  "/\r\n/evil.example",
  "/\u0000/evil.example",
  " //evil.example",
  "\t//evil.example",
  "\u0001//evil.example",
  "/ /evil.example",
  "/\u000b/evil.example",
  "/\u001f/evil.example",
  "///evil.example",
  "http://evil.example",
  "https:evil.example",
  "HTTP://evil.example",
  "javascript:alert(1)",
  "data:text/html,<script>alert(1)</script>",
  "/.//evil.example",
  "/..//evil.example",
  "/%2e%2e//evil.example",
  "/%2F/evil.example",
  "/%5Cevil.example",
  "/\u00a0/evil.example",
  "/\uff0f/evil.example",
  "/evil.example\u2028",
];

/** Pieces the property test below joins into hostile `back` values. */
const PIECES = [
  "/",
  "\\",
  "//",
  "/\\",
  "\\/",
  "\t",
  "\n",
  "\r",
  " ",
  "\u0000",
  "\u001f",
  "\u007f",
  "\u00a0",
  "\u2028",
  "\ufeff",
  "\uff0f",
  "%",
  "%2f",
  "%2F",
  "%5c",
  "%5C",
  "%09",
  "%0a",
  "%00",
  "%2e",
  ".",
  "..",
  "@",
  ":",
  "?",
  "#",
  "evil.example",
  "evil.example:80",
  "http:",
  "https:",
  "javascript:",
  "file:",
  "blob:",
];

/** Hostile `back` values: joined tricks, a slash or backslash before any text, any text, URLs. */
const hostileBack = fc.oneof(
  fc
    .array(fc.constantFrom(...PIECES), { minLength: 1, maxLength: 8 })
    .map((parts) => parts.join("")),
  fc
    .tuple(
      fc.constantFrom("/", "//", "/\\", "\\", "/\t/"),
      fc.string({ unit: "binary", maxLength: 24 }),
    )
    .map(([head, tail]) => head + tail),
  fc.string({ unit: "binary", maxLength: 32 }),
  fc.webUrl({ withQueryParameters: true, withFragments: true }),
);

/** Every POST route, with a form it accepts. */
const POSTS: { path: string; form: Record<string, string> }[] = [
  { path: "/notes", form: { title: "forged note" } },
  { path: "/status", form: { text: "forged status" } },
  { path: "/projects/42", form: { status: "forged", tone: "stop" } },
  { path: "/jobs", form: {} },
  { path: "/htmx4/jobs", form: {} },
  { path: "/locale", form: { lang: "de", back: "/" } },
  { path: "/user", form: { user: "bob", back: "/" } },
];

/** Paths whose percent-encoding does not decode (a truncated UTF-8 sequence, a bad escape). */
const MALFORMED = [
  "/projects/%E0%A4%A/events",
  "/projects/%E0%A4%A",
  "/projects/%ZZ/events",
  "/assets/%E0%A4%A",
  "/%",
  "/%C3",
];

for (const framework of FRAMEWORKS) {
  describe(`the demo's defences on ${framework}`, () => {
    let demo: RunningDemo;
    let origin: string;

    beforeAll(async () => {
      demo = await startRunning({
        argv: [`--framework=${framework}`, "--port=0", "--stats-interval=0"],
      });
      origin = new URL(demo.url).origin;
    });
    afterAll(() => demo?.close());

    /** POSTs `form` to `path` as a browser form would, with `headers`; redirects are not followed. */
    function post(path: string, form: Record<string, string>, headers: Record<string, string>) {
      return fetch(new URL(path, demo.url), {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded", ...headers },
        body: new URLSearchParams(form),
        redirect: "manual",
      });
    }

    /**
     * Where a browser goes after posting `back` to `path` from this site: the
     * `Location`, resolved against the request's URL as WHATWG's URL parser does.
     */
    async function landing(path: "/user" | "/locale", back: string): Promise<URL> {
      const form: Record<string, string> =
        path === "/user" ? { user: "bob", back } : { lang: "de", back };
      const res = await post(path, form, { Origin: origin, "Sec-Fetch-Site": "same-origin" });
      expect(res.status, `back=${JSON.stringify(back)}`).toBe(303);
      const location = res.headers.get("location");
      expect(location, `back=${JSON.stringify(back)}`).not.toBeNull();
      return new URL(location ?? "", new URL(path, demo.url));
    }

    describe("the back field of /user and /locale", () => {
      it("never sends the browser to another origin, whatever trick the URL parser accepts", async () => {
        for (const back of REDIRECT_TRICKS) {
          for (const path of ["/user", "/locale"] as const) {
            const target = await landing(path, back);
            expect(target.origin, `${path} back=${JSON.stringify(back)}`).toBe(origin);
          }
        }
      });

      it("never sends the browser to another origin, for any string (property)", async () => {
        await fc.assert(
          fc.asyncProperty(
            hostileBack,
            fc.constantFrom("/user" as const, "/locale" as const),
            async (back, path) => {
              const target = await landing(path, back);
              expect(target.origin, `${path} back=${JSON.stringify(back)}`).toBe(origin);
            },
          ),
          { numRuns: 300 },
        );
      });

      it("goes back to the page's own path, exactly as the page wrote it", async () => {
        for (const back of ["/", "/projects/42", "/projects/43/events", "/caf%C3%A9", "/a/b//c"]) {
          const target = await landing("/user", back);
          expect(target.pathname).toBe(back);
          expect(target.origin).toBe(origin);
        }
      });
    });

    describe("cross-origin POSTs", () => {
      /** Origins that are not this server's, however close. */
      const foreign = () => {
        const port = Number(new URL(demo.url).port);
        return [
          "http://evil.example",
          "https://evil.example",
          `http://127.0.0.1:${port + 1}`,
          `http://localhost:${port}`,
          `http://127.0.0.1.evil.example:${port}`,
          `${origin}.evil.example`,
          `${origin}@evil.example`,
          `${origin}/`,
          "null",
        ];
      };

      it("refuses a POST whose Origin is another site or null, whatever Sec-Fetch-Site says, changing nothing", async () => {
        const before = demo.broker.stats().published;
        for (const from of foreign()) {
          for (const site of [undefined, "same-origin", "none", "same-site", "cross-site"]) {
            for (const { path, form } of POSTS) {
              const headers: Record<string, string> = { Origin: from };
              if (site !== undefined) headers["Sec-Fetch-Site"] = site;
              const res = await post(path, form, headers);
              const what = `${path} Origin: ${from}, Sec-Fetch-Site: ${site ?? "(none)"}`;
              expect(res.status, what).toBe(403);
              expect(res.headers.get("set-cookie"), what).toBeNull();
              expect(await res.text(), what).toBe("cross-origin requests are refused");
            }
          }
        }
        expect(demo.broker.stats().published).toBe(before);
      });

      it("still refuses a cross-site Sec-Fetch-Site without an Origin", async () => {
        for (const site of ["cross-site", "same-site"]) {
          const res = await post("/user", { user: "bob", back: "/" }, { "Sec-Fetch-Site": site });
          expect(res.status).toBe(403);
          expect(res.headers.get("set-cookie")).toBeNull();
        }
      });

      it("accepts its own origin (http or https), and a client that sends neither header", async () => {
        const clients: Record<string, string>[] = [
          { Origin: origin, "Sec-Fetch-Site": "same-origin" },
          { Origin: origin },
          // Behind a TLS proxy: the browser's origin says https, this server sees http.
          { Origin: origin.replace(/^http:/, "https:"), "Sec-Fetch-Site": "same-origin" },
          {},
        ];
        for (const headers of clients) {
          for (const { path, form } of POSTS) {
            const res = await post(path, form, headers);
            expect(res.status, `${path} ${JSON.stringify(headers)}`).toBeLessThan(400);
            await res.body?.cancel();
          }
        }
      });
    });

    describe("malformed URLs and clients that leave", () => {
      it("answers 400 to a path that does not decode, and logs nothing", async () => {
        const logged = [vi.spyOn(console, "error"), vi.spyOn(console, "warn")];
        try {
          for (const path of MALFORMED) {
            for (const method of ["GET", "POST"]) {
              const res = await fetch(`${demo.url}${path}`, {
                method,
                headers: { Origin: origin, "Sec-Fetch-Site": "same-origin" },
              });
              expect(res.status, `${method} ${path}`).toBe(400);
              expect(await res.text(), `${method} ${path}`).toBe("malformed URL");
            }
          }
          for (const spy of logged) expect(spy).not.toHaveBeenCalled();
        } finally {
          for (const spy of logged) spy.mockRestore();
        }
      });

      it("logs nothing when a client resets its stream (a browser tab closing)", async () => {
        const logged = [vi.spyOn(console, "error"), vi.spyOn(console, "warn")];
        try {
          const before = demo.broker.stats().clients;
          const client = rawClient(Number(new URL(demo.url).port), "/events");
          await client.ready;
          expect(client.head).toMatch(/^HTTP\/1\.1 200/);
          await waitFor(() => demo.broker.stats().clients === before + 1, "the stream");
          // A TCP RST: the server's read fails with ECONNRESET, then the socket closes.
          client.socket.resetAndDestroy();
          await waitFor(() => demo.broker.stats().clients === before, "the stream to be removed");
          for (const spy of logged) expect(spy).not.toHaveBeenCalled();
        } finally {
          for (const spy of logged) spy.mockRestore();
        }
      });
    });
  });
}
