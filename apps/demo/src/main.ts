import { ConfigError, handleSignals } from "@burrow/sse-registry";
import { startDemo } from "./start.js";

// The demo's entry point: `pnpm --filter @burrow/demo start -- --framework koa --port 8080`.
// Flags, then environment (PORT, SSE_BUFFER_SIZE, ...), then apps/demo/burrow.toml, then defaults.
let started: Awaited<ReturnType<typeof startDemo>>;
try {
  started = await startDemo({ argv: process.argv.slice(2), env: process.env });
} catch (err) {
  if (!ConfigError.isInstance(err)) throw err;
  console.error(err.message);
  process.exit(2);
}

if (started.help !== undefined) {
  process.stdout.write("Usage: pnpm demo [flags]\n\n");
  process.stdout.write(started.help);
} else {
  const { server, registry, broker, demo, settings } = started;
  // Installed before the URL is printed, so whoever reads it can signal at once.
  // Ctrl-C or SIGTERM: shut the apps down (the broker ends every stream), close the server, exit.
  handleSignals(registry, { servers: [server], timeoutMs: 5_000 });
  const url = started.url.replace("//127.0.0.1:", "//localhost:");
  console.log(
    `Burrow SSE demo (${demo.framework}, htmx ${demo.htmx.version}, sse-buffer-size ${broker.bufferSize} from ${settings.bufferSizeSource})`,
  );
  console.log(`Listening on ${url}`);
  console.log("Open it in two windows. Ctrl-C stops it.");
}
