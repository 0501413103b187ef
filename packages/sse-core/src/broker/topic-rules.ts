import { SSEOptionError } from "../base/errors.js";
import { callbackOption, checkKeys, numberOption, optionKeys } from "../base/option-checks.js";
import type { TopicPolicy, TopicRule } from "../wire/topic-policy.js";

/**
 * The broker's `topics` option: each key a topic name (`"notes"`) or a
 * prefix pattern ending in `*` (`"badge:*"`, every topic starting with
 * `badge:`), each value that topic's {@link TopicPolicy}. A name wins over
 * a pattern, a longer pattern over a shorter one.
 */
export type TopicPolicies = Readonly<Record<string, TopicPolicy>>;

const POLICY_KEYS: readonly string[] = optionKeys<TopicPolicy>()([
  "kind",
  "snapshot",
  "target",
  "snapshotTimeoutMs",
  "snapshotReuseMs",
  "local",
]);

/** Rules remembered per topic name, at most (then the memo starts over). */
const MEMO_MAX = 4096;

/**
 * The rule of each topic, from the `topics` option: undefined for a topic
 * none names or that needs nothing (a log without a snapshot, a target, or
 * `local`),
 * so that its frames carry none. Looked up once per topic name (memoized).
 * @internal
 */
export class TopicRules {
  private readonly exact = new Map<string, TopicRule>();
  /** Prefix patterns, longest first. */
  private readonly prefixes: { prefix: string; rule: TopicRule }[] = [];
  private readonly memo = new Map<string, TopicRule | undefined>();
  /** True when some policy keeps its topics on this process (`local: true`). */
  readonly someLocal: boolean;

  /**
   * Throws {@link SSEOptionError} naming the field for anything that cannot work.
   * @param option - the broker's `topics` option.
   * @param implied - policies of topics the broker itself publishes (presence
   *   topics: `{ "presence:*": { kind: "state" } }`), each unless `option`
   *   has the same key: the app's word wins.
   */
  constructor(option: unknown, implied: TopicPolicies = {}) {
    if (
      option !== undefined &&
      (typeof option !== "object" || option === null || Array.isArray(option))
    ) {
      throw new SSEOptionError(
        "topics",
        'must be an object of topic (or "prefix*") to policy, e.g. { status: { kind: "state" } }',
        option,
      );
    }
    const given = (option ?? {}) as TopicPolicies;
    for (const [key, policy] of Object.entries(given)) {
      checkKey(key);
      this.add(key, policy);
    }
    for (const [key, policy] of Object.entries(implied)) {
      if (!Object.hasOwn(given, key)) this.add(key, policy);
    }
    this.prefixes.sort((a, b) => b.prefix.length - a.prefix.length);
    const rules = [...this.exact.values(), ...this.prefixes.map((pattern) => pattern.rule)];
    this.someLocal = rules.some((rule) => rule.local);
  }

  /** True when `topic` is kept on this process (its policy says `local: true`). */
  local(topic: string): boolean {
    return this.of(topic)?.local === true;
  }

  private add(key: string, policy: unknown): void {
    const rule = ruleOf(key, policy);
    if (rule === undefined) return;
    if (key.endsWith("*")) this.prefixes.push({ prefix: key.slice(0, -1), rule });
    else this.exact.set(key, rule);
  }

  /** True when no topic has a rule (nothing to look up). */
  get empty(): boolean {
    return this.exact.size === 0 && this.prefixes.length === 0;
  }

  /** The rule of `topic`, if it has one. */
  of(topic: string): TopicRule | undefined {
    if (this.empty) return undefined;
    if (this.memo.has(topic)) return this.memo.get(topic);
    let rule = this.exact.get(topic);
    if (rule === undefined) {
      for (const pattern of this.prefixes) {
        if (!topic.startsWith(pattern.prefix)) continue;
        rule = pattern.rule;
        break;
      }
    }
    if (this.memo.size >= MEMO_MAX) this.memo.clear();
    this.memo.set(topic, rule);
    return rule;
  }
}

/** Throws unless `key` is a topic name, or a prefix followed by one `*`. */
function checkKey(key: string): void {
  if (key === "" || key === "*" || (key.indexOf("*") !== key.length - 1 && key.includes("*"))) {
    throw new SSEOptionError(
      "topics",
      `has the key ${JSON.stringify(key)}: a key is a topic name, or a prefix followed by one * at the end ("badge:*")`,
      key,
    );
  }
}

/** One policy, checked: its rule, or undefined when it asks for nothing (a plain log). */
function ruleOf(key: string, policy: unknown): TopicRule | undefined {
  const where = `topics[${JSON.stringify(key)}]`;
  if (typeof policy !== "object" || policy === null || Array.isArray(policy)) {
    throw new SSEOptionError(where, 'must be a policy object, e.g. { kind: "state" }', policy);
  }
  checkKeys(policy, POLICY_KEYS, `a topic policy (${where})`);
  const {
    kind = "log",
    snapshot,
    target,
    snapshotTimeoutMs,
    snapshotReuseMs,
    local = false,
  } = policy as TopicPolicy;
  if (kind !== "log" && kind !== "state") {
    throw new SSEOptionError(`${where}.kind`, 'must be "log" or "state"', kind);
  }
  callbackOption(`${where}.snapshot`, snapshot, "(topic) => html (or a promise of it)");
  const badTarget =
    typeof target === "function" ? false : typeof target !== "string" || target.trim() === "";
  // A target alone is a region that handlers' own `snapshot` option renders, per request.
  if ((snapshot !== undefined || target !== undefined) && badTarget) {
    throw new SSEOptionError(
      `${where}.target`,
      'must be the CSS selector of the region a snapshot replaces, e.g. "#notes" (or a function of the topic)',
      target,
    );
  }
  const timeout = numberOption(`${where}.snapshotTimeoutMs`, snapshotTimeoutMs, {
    fallback: 10_000,
    min: 1,
    infinity: false,
  });
  const reuse = numberOption(`${where}.snapshotReuseMs`, snapshotReuseMs, {
    fallback: 5000,
    min: 0,
    infinity: false,
  });
  if (typeof local !== "boolean") {
    throw new SSEOptionError(
      `${where}.local`,
      "must be true or false, e.g. { local: true }",
      local,
    );
  }
  if (kind === "log" && target === undefined && !local) return undefined;
  return Object.freeze({
    kind,
    snapshot,
    target,
    snapshotTimeoutMs: timeout,
    snapshotReuseMs: reuse,
    local,
  });
}
