import type { EventBroker, TopicPolicies } from "@burrow/sse-core";
import type { Store } from "./store.js";
import { presenceTopic, projectIdOf, projectTopic, watchedTopic } from "./topics.js";
import type { Views } from "./views.js";

/** What {@link topicPolicies} renders the regions from. */
export interface TopicPoliciesOptions {
  views: Views;
  store: Store;
  /** The broker, once the registry has built it (for the live statistics and "viewing now"). */
  broker: () => EventBroker | undefined;
}

/**
 * The broker's `topics` option: how each of the demo's topics adds up to
 * what its page shows, so that a page that missed more than history (a tab
 * away during a burst, a restart of an in-memory demo) ends at what a fresh
 * load shows. Every snapshot renders its region's content with the template
 * the page renders it with, and with no locale (the same bytes go to every
 * page: the hints in the page's language stand beside the regions).
 *
 * - `notifications` (the notes) is a log: every note matters; its snapshot
 *   is the whole list (`#notes`).
 * - `status`, `stats`, each project's badge (`project:<id>`) and its
 *   "viewing now" list (`presence:project:<id>`) are state: only their
 *   latest event matters. Their snapshots render the current value when the
 *   broker knows none (after a restart, before anything was published).
 *   `stats` is this process's own `broker.stats()`: kept on the process
 *   (`local`), so that with a backplane each page shows the figures of the
 *   process it is connected to, never another's.
 * - `user:<name>` (job reports, kept nowhere) stays a log without snapshot.
 */
export function topicPolicies(options: TopicPoliciesOptions): TopicPolicies {
  const { views, store, broker } = options;
  return {
    notifications: {
      snapshot: async () => views.render("fragments/notes.njk", { notes: await store.notes() }),
      target: "#notes",
    },
    status: {
      kind: "state",
      snapshot: async () => {
        const status = await store.status();
        return status === undefined ? "" : views.render("fragments/status.njk", { status });
      },
      target: "#status",
    },
    stats: {
      kind: "state",
      local: true,
      snapshot: () => views.render("fragments/stats.njk", { stats: broker()?.stats() }),
      target: "#stats",
    },
    // "project:*": every project's badge.
    [projectTopic("*")]: {
      kind: "state",
      snapshot: async (topic) => {
        const project = await store.project(projectIdOf(topic) ?? "");
        return project === undefined
          ? ""
          : views.render("fragments/project-badge.njk", { project });
      },
      target: "#badge",
    },
    // "presence:project:*": who is viewing each project now.
    [presenceTopic("*")]: {
      kind: "state",
      snapshot: async (topic) => {
        const members = (await broker()?.members(watchedTopic(topic))) ?? [];
        return views.render("fragments/viewing.njk", { members });
      },
      target: "#viewing",
    },
  };
}
