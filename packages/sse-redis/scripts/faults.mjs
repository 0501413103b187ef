#!/usr/bin/env node
// Measures two Redis faults against the built package (dist), on a private
// redis-server it starts on a free port of 127.0.0.1. Not part of `pnpm test`.
//
//   node scripts/faults.mjs hang     # SIGSTOP Redis while this process publishes
//                                    # 1 KB events at about 5000/s, then SIGCONT
//   node scripts/faults.mjs resume   # 50 clients resume from the start of 8 topics'
//                                    # history in a loop, while another process
//                                    # measures its publish latency
//
// Options: --seconds (length of each phase, default 10), --attackers (50),
// --read (resume: attackers read their whole replay instead of leaving at once).
// Figures are printed as JSON lines. Needs `redis-server` on PATH; run `hang`
// with `node --expose-gc` for heap figures after GC.

import { parseArgs } from "node:util";
import { hang } from "./faults/hang.mjs";
import { attack, resume, victim } from "./faults/resume.mjs";

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    seconds: { type: "string", default: "10" },
    attackers: { type: "string", default: "50" },
    read: { type: "boolean", default: false },
    url: { type: "string" },
    prefix: { type: "string" },
    port: { type: "string" },
    cursor: { type: "string" },
  },
});
/** What every role reads: the options, `seconds` as a number. */
const options = { ...args, seconds: Number(args.seconds) };

const [role] = positionals;
const roles = { hang, resume, victim, attack };
if (!(role in roles)) {
  console.error(
    "usage: node scripts/faults.mjs hang|resume [--seconds 10] [--attackers 50] [--read]",
  );
  process.exit(2);
}
await roles[role](options);
process.exit(0);
