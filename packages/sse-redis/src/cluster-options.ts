/**
 * The `cluster` option: which Redis Cluster the backplane runs on, given as
 * its nodes or as an ioredis `Cluster` client, checked when the backplane is
 * created. Internal but for {@link RedisClusterOption}.
 */
import { SSEOptionError } from "@burrow/sse-core";
import type { Cluster, ClusterNode, ClusterOptions } from "ioredis";
import { redactUrl } from "./redis-url.js";

/**
 * A Redis Cluster (Redis 7 or later: sharded pub/sub), for
 * `redisBackplane({ cluster })`: either an ioredis `Cluster` client (the
 * backplane opens its own connections from its startup nodes and options,
 * and never uses or closes the client itself), or the nodes to start from,
 * with ioredis cluster options.
 *
 * @example
 * ```ts
 * redisBackplane({ cluster: { nodes: ["127.0.0.1:7000", "127.0.0.1:7001"] } });
 * redisBackplane({ cluster: new Redis.Cluster([{ host: "127.0.0.1", port: 7000 }]) });
 * ```
 */
export type RedisClusterOption =
  | Cluster
  | {
      /** Some of the cluster's nodes (masters or replicas): `"host:port"`, a `redis://` URL, or `{ host, port }`. */
      nodes: readonly (string | { host: string; port: number })[];
      /**
       * ioredis cluster options (`redisOptions` for TLS, a password...). The
       * backplane sets its own queueing options, as for one Redis.
       * @default {}
       */
      options?: ClusterOptions;
    };

/** The `cluster` option, checked. @internal */
export interface ResolvedCluster {
  nodes: ClusterNode[];
  options: ClusterOptions;
  /** `"host:port, ..."` for messages (never a password). */
  label: string;
}

const EXAMPLE = 'e.g. { nodes: ["127.0.0.1:7000", "127.0.0.1:7001", "127.0.0.1:7002"] }';

/**
 * Checks the `cluster` option (with the options it excludes: `url`,
 * `redis.db`, and a prefix with a hash tag of its own); throws core's
 * `SSEOptionError` naming the field and the fix. @internal
 */
export function resolveCluster(
  cluster: unknown,
  others: { url?: unknown; redis?: unknown; prefix?: unknown },
): ResolvedCluster {
  if (others.url !== undefined) {
    throw new SSEOptionError(
      "url",
      "is for one Redis server; on a Redis Cluster give its nodes in cluster.nodes instead (and leave url out)",
      typeof others.url === "string" ? redactUrl(others.url) : others.url,
    );
  }
  if (typeof others.prefix === "string" && /[{}]/.test(others.prefix)) {
    throw new SSEOptionError(
      "prefix",
      "must not hold { or } on a Redis Cluster: the backplane puts each topic's hash tag after it",
      others.prefix,
    );
  }
  const db = (others.redis as { db?: unknown } | undefined)?.db;
  if (db !== undefined && db !== 0) {
    throw new SSEOptionError(
      "redis.db",
      "must be left out: a Redis Cluster has database 0 only",
      db,
    );
  }
  const client = cluster as Partial<Cluster> | null;
  if (typeof client === "object" && client !== null && typeof client.duplicate === "function") {
    if (client.isCluster !== true) {
      throw new SSEOptionError(
        "cluster",
        "is a single-node ioredis client: pass a Redis.Cluster client, or give one server's address in url instead",
        cluster,
      );
    }
    const startup = (client as unknown as { startupNodes: ClusterNode[] }).startupNodes;
    return withLabel([...startup], { ...(client.options as ClusterOptions) });
  }
  if (typeof cluster !== "object" || cluster === null || Array.isArray(cluster)) {
    throw new SSEOptionError(
      "cluster",
      `must be a Redis.Cluster client or { nodes }, ${EXAMPLE}`,
      cluster,
    );
  }
  const { nodes, options = {} } = cluster as { nodes?: unknown; options?: unknown };
  if (!Array.isArray(nodes) || nodes.length === 0) {
    throw new SSEOptionError("cluster.nodes", `must list at least one node, ${EXAMPLE}`, nodes);
  }
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new SSEOptionError(
      "cluster.options",
      "must be an ioredis ClusterOptions object",
      options,
    );
  }
  return withLabel(nodes.map(nodeOf), { ...(options as ClusterOptions) });
}

/** One entry of `cluster.nodes`, checked. */
function nodeOf(node: unknown): ClusterNode {
  if (typeof node === "object" && node !== null) {
    const { host, port } = node as { host?: unknown; port?: unknown };
    if (typeof host === "string" && host !== "" && isPort(port)) return { host, port };
  } else if (typeof node === "string") {
    const match = /^(?:rediss?:\/\/)?(?:[^@/]*@)?(\[[^\]]+\]|[^:/]+):(\d+)\/?$/.exec(node);
    if (match !== null && isPort(Number(match[2]))) {
      return { host: match[1]!.replace(/^\[|\]$/g, ""), port: Number(match[2]) };
    }
  }
  throw new SSEOptionError(
    "cluster.nodes",
    `each node must be "host:port", a redis:// URL with a port, or { host, port }, ${EXAMPLE}`,
    typeof node === "string" ? node.replace(/\/\/[^@/]*@/, "//***@") : node,
  );
}

function isPort(port: unknown): port is number {
  return Number.isInteger(port) && (port as number) > 0 && (port as number) < 65536;
}

function withLabel(nodes: ClusterNode[], options: ClusterOptions): ResolvedCluster {
  const label = nodes
    .map((node) => (typeof node === "object" ? `${node.host}:${node.port}` : String(node)))
    .join(", ");
  return { nodes, options, label: `cluster ${label}` };
}
