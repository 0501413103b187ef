import { fileURLToPath } from "node:url";
import { contextHandler, requireBroker } from "@burrow/sse-core";
import {
  brokerFromRegistry,
  ConfigError,
  handleSignals,
  publishFragment,
  Registry,
  renderFragment,
  SSEApp,
} from "@burrow/sse-registry";
import express from "express";

// A plugin app: declares its flags, needs "sse", runs a background job.
class NotesApp {
  name = "notes";
  dependencies = ["sse"];
  #registry;
  #job;

  register(registry) {
    this.#registry = registry;
  }

  flags() {
    return [
      {
        name: "notes-port",
        env: "NOTES_PORT",
        toml: "notes.port",
        type: "int",
        default: 3000,
        usage: "Port to listen on",
      },
      {
        name: "notes-greeting",
        env: "NOTES_GREETING",
        toml: "notes.greeting",
        type: "string",
        default: "Hello",
        usage: "Greeting printed when listening",
      },
      {
        name: "notes-job",
        env: "NOTES_JOB",
        toml: "notes.job",
        type: "bool",
        default: true,
        usage: "Publish a status fragment every second",
      },
    ];
  }

  configure(config) {
    // Apps configure in the order they were added: "sse" came first, so its broker exists.
    const broker = brokerFromRegistry(this.#registry);
    this.port = config.int("notes-port");
    this.greeting = config.string("notes-greeting");
    console.log(
      `sse-buffer-size = ${broker.bufferSize} (from ${config.source("sse-buffer-size")})`,
    );
    console.log(`notes-port = ${this.port} (from ${config.source("notes-port")})`);
    console.log(`notes-greeting = ${this.greeting} (from ${config.source("notes-greeting")})`);
    console.log(`notes-job = ${config.bool("notes-job")} (from ${config.source("notes-job")})`);
    if (config.bool("notes-job")) this.#job = setInterval(() => this.#publishStatus(), 1000);
  }

  // The background job: no request, so the locale is given explicitly.
  async #publishStatus() {
    const clients = brokerFromRegistry(this.#registry)?.stats().clients ?? 0;
    await publishFragment(this.#registry, "status", "status", { clients }, { locale: "de" });
  }

  shutdown() {
    clearInterval(this.#job); // or it would keep the process alive
  }
}

const registry = new Registry().add(new SSEApp()).add(new NotesApp());

try {
  await registry.boot({
    argv: process.argv.slice(2), // --sse-buffer-size=64
    env: process.env, // SSE_BUFFER_SIZE=64
    configFile: fileURLToPath(new URL("burrow.toml", import.meta.url)), // [sse] buffer_size = 64
  });
} catch (err) {
  if (!ConfigError.isInstance(err)) throw err;
  console.error(err.message);
  process.exit(2);
}

if (registry.helpRequested) {
  process.stdout.write(registry.helpText());
} else {
  const notes = registry.get("notes");

  // Any template engine fits here; it must escape what it interpolates.
  const escapeHtml = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const watching = { en: "watching", de: "schauen zu" };
  registry.setRenderer((name, data, { locale = "en" }) => {
    if (name === "notes/item") return `<li>${escapeHtml(data.title)}</li>`;
    if (name === "status") return `<span>${data.clients} ${watching[locale]}</span>`;
    throw new Error(`no fragment named ${name}`);
  });

  const app = express();
  app.use(registry.middleware()); // puts the broker on every request
  app.get("/events", contextHandler(["notes", "status"]));
  // An htmx form posts urlencoded fields: <form hx-post="/notes"><input name="title"></form>
  app.post("/notes", express.urlencoded({ extended: false }), async (req, res) => {
    const html = await renderFragment(registry, "notes/item", { title: req.body.title ?? "" });
    requireBroker(req).publish("notes", { data: html });
    res.sendStatus(204);
  });

  const server = app.listen(notes.port, "127.0.0.1", () => {
    console.log(`${notes.greeting}: listening on http://127.0.0.1:${server.address().port}`);
  });

  // SIGTERM/SIGINT: shut the apps down (closing the broker ends every stream),
  // close the server, and let the process exit by itself.
  handleSignals(registry, { servers: [server], timeoutMs: 10_000 });
}
