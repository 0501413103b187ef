import { type ChildProcess, execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { recordEvents, waitFor } from "@burrow/test-utils";
import ts from "typescript";
import { afterEach, describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("..", import.meta.url));
const readme = readFileSync(`${root}README.md`, "utf8");
const example = (name: string) => `${root}examples/${name}`;
const children: ChildProcess[] = [];

afterEach(() => {
  for (const child of children.splice(0)) child.kill("SIGKILL");
});

/**
 * The first line of each error TypeScript reports for `file` (a TypeScript
 * example importing this package by name: its built types, as a user gets
 * them), with `source` standing for its text.
 */
function typeErrors(file: string, source: string): string[] {
  const options: ts.CompilerOptions = {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    noEmit: true,
    types: ["node"],
    skipLibCheck: true,
  };
  const host = ts.createCompilerHost(options);
  const read = host.getSourceFile.bind(host);
  host.getSourceFile = (name, language, ...rest) =>
    name === file ? ts.createSourceFile(name, source, language) : read(name, language, ...rest);
  const program = ts.createProgram([file], options, host);
  return ts
    .getPreEmitDiagnostics(program)
    .map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n").split("\n")[0]!);
}

/** Starts a server example on a free port; resolves with it once it printed its URL. */
async function listening(name: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [example(name)], {
    env: { ...process.env, PORT: "0" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  children.push(child);
  let out = "";
  child.stdout?.on("data", (chunk) => {
    out += chunk;
  });
  await waitFor(() => /http:\/\/[\d.]+:\d+/.test(out), `${name} to listen`);
  return { child, url: /http:\/\/[\d.]+:\d+/.exec(out)![0] };
}

describe("README examples", () => {
  it.each([
    "node-http.mjs",
    "iterate.mjs",
    "resume.mjs",
    "converge.mjs",
    "per-user-snapshot.mjs",
    "authorize.mjs",
    "htmx.mjs",
    "hono.mjs",
    "route-handler.mjs",
    "adapter.mjs",
    "typed-topics.ts",
  ])("%s appears in the README verbatim", (name) => {
    expect(readme).toContain(readFileSync(example(name), "utf8").trimEnd());
  });

  it("typed-topics.ts type-checks; without its @ts-expect-error lines, tsc reports what the README shows", () => {
    const file = example("typed-topics.ts");
    const source = readFileSync(file, "utf8");
    expect(typeErrors(file, source)).toEqual([]);
    const unmarked = source.replace(/\/\/ @ts-expect-error .*/g, "//");
    const shown = /TypeScript's errors for the three marked lines:\n\n```\n([^`]+)```/.exec(readme);
    expect(typeErrors(file, unmarked)).toEqual(shown?.[1]?.trimEnd().split("\n"));
  });

  it("typed-topics.ts runs, types stripped, and prints the escaped project event", async () => {
    const { outputText } = ts.transpileModule(readFileSync(example("typed-topics.ts"), "utf8"), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    });
    // Evaluated from the package root, so that "@burrow/sse-core" is this package, built.
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ["--input-type=module", "--eval", outputText],
      { cwd: root },
    );
    expect(stdout).toBe("project:42 Build &#60;passed&#62;\n");
  });

  it("iterate.mjs prints both events and ends", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [example("iterate.mjs")]);
    expect(stdout).toBe("orders: order #1 paid\nalerts: disk almost full\ndropped: 0\n");
  });

  it("converge.mjs prints what the README shows: the latest status, one snapshot of the notes", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [example("converge.mjs")]);
    const shown = /It prints:\n\n```\n([^`]+)```/.exec(
      readme.slice(readme.indexOf("examples/converge.mjs")),
    );
    expect(stdout).toBe(shown![1]);
  });

  it("per-user-snapshot.mjs prints what the README shows: each user's own inbox", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [
      example("per-user-snapshot.mjs"),
    ]);
    const shown = /It prints:\n\n```\n([^`]+)```/.exec(
      readme.slice(readme.indexOf("examples/per-user-snapshot.mjs")),
    );
    expect(stdout).toBe(shown![1]);
  });

  it("resume.mjs replays what was missed, then live events", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [example("resume.mjs")]);
    expect(stdout).toBe("you missed this\nand this\nlive again\n1 resumed\n");
  });

  it("authorize.mjs refuses a stranger and admits a member", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [example("authorize.mjs")], {
      env: { ...process.env, PORT: "0" },
    });
    expect(stdout).toBe("403 200\n");
  });

  it("node-http.mjs streams published notes and job updates, and stops on SIGTERM", async () => {
    const { child, url } = await listening("node-http.mjs");
    const client = recordEvents(`${url}/events`, ["notifications", "status"]);
    await client.opened;
    const posted = await fetch(`${url}/notes`, { method: "POST", body: "<b>hi</b>" });
    expect(posted.status).toBe(204);
    await waitFor(() => client.events.some((e) => e.event === "notifications"), "a note");
    await waitFor(() => client.events.some((e) => e.event === "status"), "a job update");
    expect(client.events.find((e) => e.event === "notifications")?.data).toBe(
      "<li>&#60;b&#62;hi&#60;/b&#62;</li>",
    );
    // SIGTERM with the stream still open, as the quick-start suite does: closed first, its
    // aborted fetch kept the socket open until the client's keep-alive timeout (about 4 s),
    // which the example's exit waited for.
    child.kill("SIGTERM");
    const [code] = await once(child, "exit");
    client.close();
    expect(code).toBe(0);
  });

  it("adapter.mjs, a framework's adapter built by frameworkHandlers, streams a room, refuses staff, leaves other routes to the framework, stops on SIGTERM", async () => {
    const { child, url } = await listening("adapter.mjs");
    const staff = await fetch(`${url}/events?room=staff`);
    expect(staff.status).toBe(403); // answered by core, after takeOver: the framework kept out
    expect(await staff.text()).toBe("sse: forbidden");
    const elsewhere = await fetch(`${url}/nowhere`);
    expect([elsewhere.status, await elsewhere.text()]).toEqual([404, "not found"]);
    const client = recordEvents(`${url}/events?room=kitchen`, ["room:kitchen"]);
    await client.opened;
    const said = await fetch(`${url}/say?room=kitchen&text=soup`, { method: "POST" });
    expect(said.status).toBe(204);
    const [event] = await client.waitForCount(1);
    expect(event?.data).toBe("soup");
    child.kill("SIGTERM");
    const [code] = await once(child, "exit");
    client.close();
    expect(code).toBe(0);
  });
});
