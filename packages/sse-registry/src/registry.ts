import type { NodeMiddleware } from "@burrow/sse-core";
import { hasMiddleware, hasShutdown, isConfigurable } from "./app-guards.js";
import { type BootOptions, checkBootOptions } from "./boot-options.js";
import { resolveConfig } from "./config.js";
import { ConfigError, RegistryError } from "./errors.js";
import { collectFlags, parseArgv } from "./flags.js";
import { formatHelp } from "./help.js";
import { readToml } from "./toml.js";
import type { FragmentRenderer } from "./types.js";

/**
 * A unit of a program managed by a {@link Registry}: the SSE app, a plugin, a
 * job runner. Only `name` is required; an app opts into more of the lifecycle
 * by also implementing {@link Configurable}, {@link HasMiddleware} or
 * {@link HasShutdown}.
 *
 * @example
 * ```ts
 * const notes: App & Configurable = {
 *   name: "notes",
 *   dependencies: ["sse"],
 *   flags: () => [{ name: "notes-topic", type: "string", default: "notes", usage: "Topic" }],
 *   configure(config) {
 *     topic = config.string("notes-topic");
 *   },
 * };
 * ```
 */
export interface App {
  /** Unique name in its registry, e.g. `"sse"`. */
  readonly name: string;
  /** Names of apps that must be added before this one. */
  readonly dependencies?: readonly string[];
  /** Called once by {@link Registry.boot}, in order of adding, before any app configures. */
  register?(registry: Registry): void | Promise<void>;
}

/**
 * Holds a program's apps in order and runs their lifecycle: {@link boot}
 * (every app registers, in order; then every {@link Configurable} configures,
 * in order), {@link middleware} for every request, and {@link shutdown}
 * (reverse order).
 *
 * @example
 * ```ts
 * import { Registry, SSEApp } from "@burrow/sse-registry";
 *
 * const registry = new Registry().add(new SSEApp()).add(notesApp);
 * await registry.boot({ argv: process.argv.slice(2), configFile: "burrow.toml" });
 * if (registry.helpRequested) console.log(registry.helpText());
 * else app.use(registry.middleware());
 * ```
 */
export class Registry {
  readonly #apps: App[] = [];
  readonly #byName = new Map<string, App>();
  #booted = false;
  #helpRequested = false;
  #shutdown: Promise<void> | undefined;
  #renderer: FragmentRenderer | undefined;

  /**
   * Adds `app` after those already added. A {@link RegistryError} when its
   * name is taken, a dependency was not added before it, or the registry has
   * already booted.
   */
  add(app: App): this {
    if (typeof app?.name !== "string" || app.name === "") {
      throw new RegistryError("an app needs a non-empty string name");
    }
    if (this.#booted || this.#shutdown !== undefined) {
      throw new RegistryError(
        `cannot add app "${app.name}": the registry has already ${this.#shutdown ? "shut down" : "booted"}`,
        { app: app.name },
      );
    }
    const existing = this.#byName.get(app.name);
    if (existing !== undefined) {
      throw new RegistryError(
        `cannot add app "${app.name}" (${describe(app)}): app "${existing.name}" (${describe(existing)}) has that name already`,
        { app: app.name },
      );
    }
    for (const dependency of app.dependencies ?? []) {
      if (!this.#byName.has(dependency)) {
        throw new RegistryError(
          `app "${app.name}" depends on app "${dependency}", which is not added: add "${dependency}" before "${app.name}"`,
          { app: app.name },
        );
      }
    }
    this.#apps.push(app);
    this.#byName.set(app.name, app);
    return this;
  }

  /** The app named `name`, if added. */
  get<T extends App = App>(name: string): T | undefined {
    return this.#byName.get(name) as T | undefined;
  }

  /** Every app, in order of adding. */
  apps(): readonly App[] {
    return Object.freeze([...this.#apps]);
  }

  /**
   * Resolves every app's flags (flag, then environment, then TOML file, then
   * default), then calls every app's `register`, in order, then every
   * Configurable's `configure`, in order. Bad configuration is a
   * {@link ConfigError}, found before any app registers. Once only.
   *
   * When `argv` holds `--help` (or `-h`), nothing else is checked and no app
   * registers or configures: boot resolves with {@link helpRequested} true,
   * so a CLI prints {@link helpText} and exits 0.
   *
   * A {@link RegistryError} for options that cannot work: an unknown key,
   * an `argv` that is not an array of strings, or `process.argv` itself
   * (its first two entries are node and the script: pass
   * `process.argv.slice(2)`).
   */
  async boot(options: BootOptions = {}): Promise<void> {
    if (this.#booted) throw new RegistryError("the registry has already booted");
    checkBootOptions(options);
    this.#booted = true;
    const flags = collectFlags(this.#apps);
    const args = parseArgv(flags, options.argv ?? []);
    if (args.help) {
      this.#helpRequested = true;
      return;
    }
    if (options.configFile !== undefined && typeof options.configFile !== "string") {
      throw new ConfigError("configFile must be a path string", { source: "toml" });
    }
    const config = resolveConfig(flags, {
      argv: args.values,
      env: options.env ?? process.env,
      toml:
        options.configFile === undefined
          ? undefined
          : { doc: readToml(options.configFile), path: options.configFile },
    });
    for (const app of this.#apps) await app.register?.(this);
    for (const app of this.#apps) if (isConfigurable(app)) await app.configure(config);
  }

  /** True after {@link boot} saw `--help`; the apps were then neither registered nor configured. */
  get helpRequested(): boolean {
    return this.#helpRequested;
  }

  /**
   * Help for every app's flags: name, type, usage, environment variable,
   * TOML key and default. Works before {@link boot}.
   */
  helpText(): string {
    return formatHelp(collectFlags(this.#apps));
  }

  /** Every {@link HasMiddleware} app's middleware, in order of adding. */
  middleware(): NodeMiddleware[] {
    return this.#apps.flatMap((app) => (hasMiddleware(app) ? [...app.middleware()] : []));
  }

  /**
   * Shuts every {@link HasShutdown} app down, in reverse order of adding, one
   * after the other, each once. Every app is attempted even when one fails;
   * failures are reported together as one {@link RegistryError} whose
   * `errors` holds each. Every call returns the same promise, so a second
   * call (a second signal) never shuts an app down twice.
   */
  shutdown(): Promise<void> {
    this.#shutdown ??= this.#shutdownAll();
    return this.#shutdown;
  }

  async #shutdownAll(): Promise<void> {
    const failures: { app: string; error: unknown }[] = [];
    for (const app of [...this.#apps].reverse()) {
      if (!hasShutdown(app)) continue;
      try {
        await app.shutdown();
      } catch (error) {
        failures.push({ app: app.name, error });
      }
    }
    if (failures.length === 0) return;
    const list = failures.map(({ app, error }) => `"${app}": ${messageOf(error)}`).join("; ");
    throw new RegistryError(
      `${failures.length} app${failures.length === 1 ? "" : "s"} failed to shut down: ${list}`,
      {
        errors: failures.map(({ error }) => error),
        cause: failures[0]?.error,
        app: failures.length === 1 ? failures[0]?.app : undefined,
      },
    );
  }

  /**
   * Sets the template renderer for {@link renderFragment} and
   * {@link publishFragment}. Call it once templates are loaded (after boot,
   * e.g. from the web layer); calling again replaces it.
   */
  setRenderer(renderer: FragmentRenderer): void {
    if (typeof renderer !== "function") {
      throw new RegistryError("setRenderer needs a function (name, data, context) => string");
    }
    this.#renderer = renderer;
  }

  /** The renderer set by {@link setRenderer}, if any. */
  renderer(): FragmentRenderer | undefined {
    return this.#renderer;
  }
}

function describe(app: App): string {
  const ctor = (app as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof ctor === "string" && ctor !== "" && ctor !== "Object" ? ctor : "object";
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
