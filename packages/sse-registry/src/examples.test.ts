import { type ChildProcess, execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { recordEvents, waitFor } from "@burrow/test-utils";
import { afterEach, describe, expect, it } from "vitest";

// The examples import the built packages (dist): `pnpm build` runs before the tests.
const root = fileURLToPath(new URL("..", import.meta.url));
const readme = readFileSync(`${root}README.md`, "utf8");
const example = `${root}examples/notes.mjs`;
const children: ChildProcess[] = [];

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
});

/** Runs the example to completion (for --help and bad input). */
async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [example, ...args]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const { code, stdout, stderr } = err as { code: number; stdout: string; stderr: string };
    return { code, stdout, stderr };
  }
}

describe("README example", () => {
  it.each(["notes.mjs", "burrow.toml"])("%s appears in the README verbatim", (name) => {
    expect(readme).toContain(readFileSync(`${root}examples/${name}`, "utf8").trimEnd());
  });

  it("configures from flag, env, TOML and defaults, publishes from a route and a job, and stops on SIGTERM", async () => {
    const child = spawn(process.execPath, [example, "--sse-buffer-size=64"], {
      env: { ...process.env, NOTES_PORT: "0", SSE_BUFFER_SIZE: "8", NOTES_GREETING: "" },
      stdio: ["ignore", "pipe", "inherit"],
    });
    children.push(child);
    const exited = once(child, "exit");
    let out = "";
    child.stdout?.on("data", (chunk) => {
      out += chunk;
    });
    await waitFor(() => out.includes("listening on"), "the example to listen");
    expect(out).toContain("sse-buffer-size = 64 (from flag)\n");
    expect(out).toContain("notes-port = 0 (from env)\n");
    expect(out).toContain("notes-greeting = Hello from burrow.toml (from toml)\n");
    expect(out).toContain("notes-job = true (from default)\n");

    const url = /http:\/\/[\d.]+:\d+/.exec(out)?.[0];
    const client = recordEvents(`${url}/events`, ["notes", "status"]);
    await client.opened;
    // What an htmx form sends: urlencoded fields.
    const posted = await fetch(`${url}/notes`, {
      method: "POST",
      body: new URLSearchParams({ title: "<b>hi</b>" }),
    });
    expect(posted.status).toBe(204);
    await waitFor(() => client.events.some((e) => e.event === "notes"), "the route's note");
    expect(client.events.find((e) => e.event === "notes")?.data).toBe(
      "<li>&#60;b&#62;hi&#60;/b&#62;</li>",
    );
    await waitFor(() => client.events.some((e) => e.event === "status"), "the job's status");
    expect(client.events.find((e) => e.event === "status")?.data).toBe("<span>1 schauen zu</span>");

    child.kill("SIGTERM");
    const [code] = await exited;
    expect(code).toBe(0);
    client.close();
  });

  it("--help prints every flag and exits 0", async () => {
    const { code, stdout } = await run(["--help"]);
    expect(code).toBe(0);
    for (const flag of [
      "--sse-buffer-size",
      "--notes-port",
      "--notes-greeting",
      "--no-notes-job",
    ]) {
      expect(stdout).toContain(flag);
    }
  });

  it("a bool flag given a separate value exits 2 saying how to write it", async () => {
    const { code, stderr } = await run(["--notes-job", "false"]);
    expect(code).toBe(2);
    const message =
      "--notes-job false: a bool flag takes no separate value: write --no-notes-job (or --notes-job=false)";
    expect(stderr).toBe(`${message}\n`);
    expect(readme).toContain(`\`${message}\``);
  });

  it("a bad value exits 2 with a message naming the flag and its source", async () => {
    const { code, stderr } = await run(["--sse-buffer-size=abc"]);
    expect(code).toBe(2);
    expect(stderr).toContain(
      '--sse-buffer-size: "abc" (from flag --sse-buffer-size) is not an integer',
    );
  });
});
