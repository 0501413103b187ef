import type { IncomingMessage } from "node:http";
import type { PresenceIdentity } from "@burrow/sse-core";
import { HttpError } from "./http.js";
import { isMember, PROJECTS, projectInfo } from "./store.js";
import { presenceTopic, projectIdOf, projectTopic, userTopic } from "./topics.js";
import { userOf } from "./visitor.js";

/**
 * What each SSE endpoint serves and to whom: its topics, who may watch a
 * project, who is viewing it. The handlers themselves come from the
 * framework's adapter.
 */
export class Streams {
  /** Topics of `/events`: shared ones, plus this browser's user topic for job results. */
  eventTopics(req: IncomingMessage): string[] {
    return ["notifications", "status", "stats", userTopic(userOf(req))];
  }

  /**
   * Topics of `/projects/:id/events`: the project's and its presence topic
   * (who is viewing now); an unknown project answers 404.
   */
  projectTopics(id: string): string[] {
    if (projectInfo(id) === undefined) throw new HttpError(404, "no such project");
    return [projectTopic(id), presenceTopic(id)];
  }

  /** Every project's id (for the `swap` map of the project streams). */
  projectIds(): string[] {
    return PROJECTS.map((project) => project.id);
  }

  /** The `presence` option of the project stream: the page's user, by name. */
  viewer(req: IncomingMessage): PresenceIdentity {
    const user = userOf(req);
    return { id: user, data: { name: user } };
  }

  /**
   * The `authorize` option of the project stream: members only, else 403;
   * a project's presence topic is the project's.
   */
  mayWatch(req: IncomingMessage, topics: readonly string[]): boolean {
    const user = userOf(req);
    return topics.every((topic) => {
      const id = projectIdOf(topic);
      return id === undefined || isMember(user, id);
    });
  }
}
