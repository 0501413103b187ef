// The cluster scenario's Redis Cluster helpers that need no server: reading
// `CLUSTER NODES`, picking one topic per master; and its report placing the
// cluster's rows and plot series beside single Redis.

import { describe, expect, it } from "vitest";
import { clusterReport, clusterSvg } from "./cluster-report.mjs";
import { parseClusterNodes, topicPerMaster } from "./redis-cluster.mjs";

// As Redis 7 answers: bus port after @, an optional hostname after a comma,
// replicas, a failed master, and a slot being migrated ([...]).
const NODES = `07c37dfeb235213a872192d90877d0cd55635b91 127.0.0.1:30004@40004 slave e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 0 1426238317239 4 connected
67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1 127.0.0.1:30002@40002,node-2 master - 0 1426238316232 2 connected 5461-10922
292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f 127.0.0.1:30003@40003 master - 0 1426238318243 3 connected 10923-16383 [10924->-e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca]
e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 127.0.0.1:30001@40001 myself,master - 0 0 1 connected 0-5460 16000
6ec23923021cf3ffec47632106199cb7f496ce01 127.0.0.1:30005@40005 master,fail - 1426238316232 0 5 disconnected
`;

describe("parseClusterNodes", () => {
  it("keeps the masters serving slots, their host:port and slot ranges", () => {
    expect(parseClusterNodes(NODES)).toEqual([
      {
        id: "67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1",
        node: "127.0.0.1:30002",
        slots: [[5461, 10922]],
      },
      {
        id: "292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f",
        node: "127.0.0.1:30003",
        slots: [[10923, 16383]],
      },
      {
        id: "e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca",
        node: "127.0.0.1:30001",
        slots: [
          [0, 5460],
          [16000, 16000],
        ],
      },
    ]);
  });

  it("finds no master in an empty answer", () => {
    expect(parseClusterNodes("")).toEqual([]);
  });
});

describe("topicPerMaster", () => {
  const masters = parseClusterNodes(NODES);

  it("picks, for each master in turn, the first candidate in its slots", () => {
    const slotOf = new Map([
      ["a", 100],
      ["b", 12000],
      ["c", 6000],
      ["d", 16000],
      ["e", 7000],
    ]);
    expect(topicPerMaster(masters, ["a", "b", "c", "d", "e"], slotOf)).toEqual(["c", "b", "a"]);
  });

  it("throws naming the master that no candidate falls on", () => {
    const slotOf = new Map([["a", 100]]);
    expect(() => topicPerMaster(masters, ["a"], slotOf)).toThrow("127.0.0.1:30002");
  });
});

describe("the report of a run with a Redis Cluster", () => {
  const figures = (perSec, p99) => ({
    burst: { perSec, wallMs: 100, serverCpu: [0.5], rssMB: [50], backplaneCpu: 0.2, genCpu: [0.3] },
    paced: { p50: 1, p99 },
  });
  const row = (engine, k, topics, perSec) => ({
    engine,
    k,
    topics,
    n: 100,
    perProcess: [100 / k],
    idleRssMB: [40],
    dropped: 0,
    localOnly: 0,
    one: figures(perSec, 2),
    all: figures(perSec * 2, 3),
  });
  const result = {
    rows: [row("postgres", 1, 1, 10), row("redis-cluster", 1, 3, 30), row("redis", 1, 1, 20)],
    uptime: { before: "1", after: "1" },
    sizes: {
      n: 100,
      burst: 10,
      rate: 5,
      seconds: 1,
      engines: ["postgres", "redis-cluster", "redis"],
    },
  };

  it("puts the cluster's rows right after single Redis, named with its masters", () => {
    const engines = clusterReport(result)
      .split("\n")
      .filter((line) => /^\| [a-z]/.test(line) && !line.startsWith("| backplane"))
      .map((line) => line.split(" | ")[0].slice(2));
    expect(engines).toEqual([
      "redis",
      "redis",
      "redis-cluster (3 masters)",
      "redis-cluster (3 masters)",
      "postgres",
      "postgres",
    ]);
  });

  it("plots the cluster as series of its own, in the legend", () => {
    const svg = clusterSvg(result);
    expect(svg).toContain(">redis-cluster, from one process</text>");
    expect(svg).toContain(">redis-cluster, from all</text>");
    expect(svg).toContain(">redis, from one process</text>");
  });
});
