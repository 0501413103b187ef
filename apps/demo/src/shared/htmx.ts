import { createRequire } from "node:module";
import type { SwapOption } from "@burrow/sse-core";

// What differs between the demo's htmx 4 pages and its htmx 2 pages: the
// scripts a page loads, its htmx config, and the stream routes it connects to.
// Every route of both versions is always mounted, on one broker: the flag
// `--htmx` only picks which pages are rendered, so a tab still open on an
// htmx 2 page keeps streaming after the demo restarts on htmx 4.

const require = createRequire(import.meta.url);

/** Prefix of a topic's presence topic (the broker's default `presence.prefix`). */
export const PRESENCE_PREFIX = "presence:";

/** The htmx versions the demo renders pages for; the first is the default. */
export const HTMX_VERSIONS = [4, 2] as const;
/** `4` (htmx 4 and its `hx-sse` extension) or `2` (htmx 2 and `htmx-ext-sse`). */
export type HtmxVersion = (typeof HTMX_VERSIONS)[number];

/**
 * htmx 4's home stream: the events of the status and the live statistics
 * land in their own target through `<hx-partial>`. The notes' events are not
 * listed: each carries its own partials (`fragments/note-added.njk`: the note
 * appended to `#notes`, the notes the list let go of deleted), the same bytes
 * for both versions. Nor is the user's own topic (`user:<name>`, the job
 * reports): its events go out unnamed without a partial and land in the
 * stream element's own target (`hx-target="#job-results"`).
 */
export const HOME_SWAP: SwapOption = {
  status: "#status",
  stats: "#stats",
};

/** How the pages of one htmx version stream (their markup is in `views/`). */
export interface HtmxPages {
  /** The version of htmx the pages load (its `package.json`), shown in the footer. */
  readonly version: string;
  /** Prefix of this version's routes: `""` for htmx 2, `"/htmx4"` for htmx 4. */
  readonly prefix: string;
  /** The `swap` handler option of the home page's stream (`<prefix>/events`). */
  readonly homeSwap: SwapOption | undefined;
  /**
   * The `swap` handler option of a project page's stream
   * (`<prefix>/projects/:id/events`), given every project's id.
   */
  readonly projectSwap: (ids: readonly string[]) => SwapOption | undefined;
  /**
   * The `snapshotOnConnect` handler option of both streams: whether a
   * connection without `Last-Event-ID` starts with its topics' snapshots and
   * latest state.
   */
  readonly snapshotOnConnect: boolean;
}

const version = (pkg: string): string =>
  (require(`${pkg}/package.json`) as { version: string }).version;

/** Each version's pages; see {@link HtmxPages}. */
export const HTMX: Readonly<Record<HtmxVersion, HtmxPages>> = {
  4: {
    version: version("htmx.org"),
    prefix: "/htmx4",
    homeSwap: HOME_SWAP,
    // The project's topic goes unnamed into the stream element itself (the badge); its
    // presence topic's member list into #viewing, through an <hx-partial>.
    projectSwap: (ids) =>
      Object.fromEntries(
        ids.map((id) => [
          `${PRESENCE_PREFIX}project:${id}`,
          { target: "#viewing", swap: "innerHTML" },
        ]),
      ),
    // The page's stream URL carries its render-time cursor, and a reconnect sends Last-Event-ID.
    snapshotOnConnect: false,
  },
  // Every event named (`event: <topic>`), for sse-swap.
  2: {
    version: version("htmx2"),
    prefix: "",
    homeSwap: undefined,
    projectSwap: () => undefined,
    // htmx-ext-sse rebuilds a failed EventSource, which sends no Last-Event-ID, and the page's
    // URL carries no cursor: without this, such a stream would only get live events.
    snapshotOnConnect: true,
  },
};
