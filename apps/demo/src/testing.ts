import { type RunningDemo, type StartOptions, startDemo } from "./start.js";

// Test support: the demo in-process, the way every test file starts it.

/**
 * Starts the demo with `options`, reading no `burrow.toml` and an empty
 * environment unless `options` says otherwise; `--help` is an error here.
 */
export async function startRunning(options: StartOptions): Promise<RunningDemo> {
  const result = await startDemo({ env: {}, configFile: null, ...options });
  if (result.help !== undefined) throw new Error("unexpected --help");
  return result;
}
