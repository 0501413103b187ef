import { PRESENCE_PREFIX } from "./htmx.js";
import type { User } from "./store.js";

const PROJECT_PREFIX = "project:";

/** The topic of project `id`'s badge. */
export const projectTopic = (id: string): string => `${PROJECT_PREFIX}${id}`;
/** The topic of project `id`'s "viewing now" list, published by the broker's `presence` option. */
export const presenceTopic = (id: string): string => `${PRESENCE_PREFIX}${projectTopic(id)}`;
/** The topic of one user's background job results. */
export const userTopic = (user: User): string => `user:${user}`;

/** The topic whose viewers a presence topic lists (`project:42` for `presence:project:42`), else `topic` itself. */
export const watchedTopic = (topic: string): string =>
  topic.startsWith(PRESENCE_PREFIX) ? topic.slice(PRESENCE_PREFIX.length) : topic;

/** The project id of a project topic or of its presence topic; `undefined` for any other topic. */
export function projectIdOf(topic: string): string | undefined {
  const watched = watchedTopic(topic);
  return watched.startsWith(PROJECT_PREFIX) ? watched.slice(PROJECT_PREFIX.length) : undefined;
}
