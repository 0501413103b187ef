import { PRESENCE_PREFIX } from "./htmx.js";
import type { User } from "./store.js";

/** The topic of project `id`'s badge. */
export const projectTopic = (id: string): string => `project:${id}`;
/** The topic of project `id`'s "viewing now" list, published by the broker's `presence` option. */
export const presenceTopic = (id: string): string => `${PRESENCE_PREFIX}${projectTopic(id)}`;
/** The topic of one user's background job results. */
export const userTopic = (user: User): string => `user:${user}`;
