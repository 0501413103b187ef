import type { Subscription } from "../delivery/subscription.js";
import type { History } from "./history.js";
import type { TopicRules } from "./topic-rules.js";

/** How each topic of one resuming client gets back what it missed. @internal */
export interface ResumePlan {
  /** Replayed exactly from history after the cursor. */
  readonly exact: string[];
  /** Repaired: a snapshot (log topics that have one) or the latest event (state topics). */
  readonly repaired: string[];
  /** Neither: the client is told of a miss (`resumeMissEvent`), and gets them live only. */
  readonly lost: string[];
}

/**
 * How each of `topics` of `client` resumes from `history` after `seq` (`marked`: a
 * repair id); `gaps`, how many log topics are repaired because events of
 * them were evicted (or the id is unknown). @internal
 */
export function planOf(
  rules: TopicRules,
  client: Subscription,
  topics: readonly string[],
  history: History,
  seq: number | undefined,
  marked: boolean,
): { plan: ResumePlan; gaps: number } {
  const plan: ResumePlan = { exact: [], repaired: [], lost: [] };
  let gaps = 0;
  for (const topic of topics) {
    const rule = rules.of(topic);
    if (rule?.kind === "state") {
      // History keeps its latest event: replayed in order when it changed since. From a repair
      // id, its own repair may not have come (a restart's snapshot): it is repaired again.
      if (seq === undefined || marked) plan.repaired.push(topic);
      else plan.exact.push(topic);
    } else if (seq !== undefined && !history.gapAfter(topic, seq)) {
      // (A topic this client cannot repair was not repaired before either: exact.)
      if (marked && client.repairable(rule)) plan.repaired.push(topic);
      else plan.exact.push(topic);
    } else if (client.repairable(rule)) {
      plan.repaired.push(topic);
      gaps++;
    } else plan.lost.push(topic);
  }
  return { plan, gaps };
}
