/**
 * A private nginx for the proxy recipe's test: Debian's binary, run in the
 * foreground as one process (no master, no daemon) with its config, pid,
 * logs and temp files in a folder of its own, listening on 127.0.0.1 only.
 * It never reads or signals the machine's nginx.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { waitFor } from "@burrow/test-utils";

/** Where `.ci/run` installs nginx (`apt-get install nginx-light`). */
export const NGINX = "/usr/sbin/nginx";

/** The address the recipe's `proxy_pass` names; the test puts its app's there. */
const RECIPE_APP = "127.0.0.1:3000";

/**
 * The `nginx` block of a recipe page, its app's address replaced by `app`.
 * Throws unless the page holds exactly one such block naming `127.0.0.1:3000`.
 */
export function recipeBlock(markdown: string, app: string): string {
  const blocks = [...markdown.matchAll(/```nginx\n([\s\S]*?)\n```/g)].map((m) => m[1]!);
  if (blocks.length !== 1) throw new Error(`expected one nginx block, found ${blocks.length}`);
  if (!blocks[0]!.includes(RECIPE_APP)) {
    throw new Error(`the nginx block must proxy to ${RECIPE_APP}, the address the test replaces`);
  }
  return blocks[0]!.replaceAll(RECIPE_APP, app);
}

/** One `server` of the private nginx. */
export interface NginxServer {
  /** The `listen` parameters, e.g. `127.0.0.1:8080` or `127.0.0.1:8443 http2`. */
  listen: string;
  /** What the server block holds besides `listen`: a recipe's location, directives. */
  body: string;
}

/** A running private nginx. */
export interface Nginx {
  /** Its error log so far (proxy errors and timeouts are logged there). */
  errors(): string;
  /** Ends the process and removes its folder. */
  stop(): Promise<void>;
}

/** Whether something accepts connections on `port` of 127.0.0.1. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1", () => {
      socket.end();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/**
 * Starts nginx with `servers`, and resolves once each listens on `ports`.
 * Fails, never skips, when nginx is not installed: CI installs it.
 */
export async function startNginx(servers: NginxServer[], ports: number[]): Promise<Nginx> {
  if (!existsSync(NGINX)) {
    throw new Error(
      `${NGINX} is missing: the proxy recipe's test runs Debian's nginx (apt-get install nginx-light)`,
    );
  }
  const dir = mkdtempSync(join(tmpdir(), "burrow-nginx-"));
  const at = (name: string) => join(dir, name);
  const temps = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]
    .map((kind) => `${kind}_temp_path ${at(kind)};`)
    .join("\n  ");
  const config = `daemon off;
master_process off;
pid ${at("nginx.pid")};
error_log ${at("error.log")} info;
events {}
http {
  access_log ${at("access.log")};
  ${temps}
${servers.map((server) => `  server {\n    listen ${server.listen};\n${server.body}\n  }`).join("\n")}
}
`;
  writeFileSync(at("nginx.conf"), config);
  const child: ChildProcess = spawn(
    NGINX,
    ["-p", dir, "-e", at("error.log"), "-c", at("nginx.conf")],
    {
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const errors = () => (existsSync(at("error.log")) ? readFileSync(at("error.log"), "utf8") : "");
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`nginx exited: ${stderr}${errors()}`);
        return (await Promise.all(ports.map(accepts))).every(Boolean);
      },
      `nginx listening on ${ports.join(", ")}`,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { errors, stop };
}
