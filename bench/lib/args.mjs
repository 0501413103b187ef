// The benchmark's command line: `pnpm bench [--against <ref>]`. Everything
// else is set through BENCH_* environment variables (see bench/README.md).

export const USAGE = `Usage: pnpm bench [--against <ref>]

  (no flag)        the full benchmark: sse-core, its adapters, better-sse and raw loops
  --against <ref>  this checkout (A) against <ref> (B), a commit, branch or tag:
                   <ref> is built in a temporary git worktree, both run the same
                   burst and idle-memory cases interleaved, and a table of
                   medians and B/A ratios is printed (also: BENCH_AGAINST=<ref>)
  --help           this text

BENCH_SCENARIOS=storm runs the resume storms (also: node bench/storm.mjs [--against <ref>]).

Environment: BENCH_QUICK, BENCH_SERVERS, BENCH_N, BENCH_RUNS, BENCH_SAMPLES, ...
(bench/README.md lists them all).`;

/**
 * Reads the arguments after `pnpm bench` (or `node run.mjs`): `--against
 * <ref>`, `--against=<ref>` and `--help`. A `--` (what `pnpm bench -- …`
 * passes on) is skipped; `BENCH_AGAINST` in `env` is the default for
 * `--against`. Throws on anything else, so a typo never runs the full
 * benchmark by mistake.
 */
export function parseBenchArgs(argv, env = {}) {
  const out = { against: env.BENCH_AGAINST || undefined, help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--") continue;
    if (arg === "--help" || arg === "-h") {
      out.help = true;
    } else if (arg === "--against" || arg.startsWith("--against=")) {
      const ref = arg === "--against" ? argv[++i] : arg.slice("--against=".length);
      // A ref never starts with "-" (git refuses such names); this is a missing value.
      if (ref === undefined || ref === "" || ref.startsWith("-"))
        throw new Error("bench: --against needs a commit, branch or tag, e.g. --against main");
      out.against = ref;
    } else {
      throw new Error(`bench: unknown argument ${JSON.stringify(arg)}\n\n${USAGE}`);
    }
  }
  return out;
}

/** A comma-separated list from the environment, or `fallback` when unset or empty. */
export function envList(value, fallback) {
  return (value || fallback)
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}
