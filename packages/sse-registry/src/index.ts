/**
 * `@burrow/sse-registry`: the app lifecycle layer of Burrow SSE. A
 * `Registry` registers apps in order, configures them from flags,
 * environment and a TOML file, puts their middleware on every request,
 * reaches the broker from background jobs (`brokerFromRegistry`) and shuts
 * down gracefully (`handleSignals`); `SSEApp` is the broker as such an app.
 *
 * @packageDocumentation
 */

export type { BootOptions } from "./boot-options.js";
export type { ConfigErrorOptions, RegistryErrorOptions } from "./errors.js";
export { ConfigError, RegistryError } from "./errors.js";
export type { App } from "./registry.js";
export { Registry } from "./registry.js";
export { publishFragment, renderFragment } from "./render.js";
export type { ClosableServer, HandleSignalsOptions } from "./shutdown.js";
export { handleSignals } from "./shutdown.js";
export type { SSEAppOptions } from "./sse-app.js";
export { brokerFromRegistry, SSEApp } from "./sse-app.js";
export type {
  Config,
  ConfigSource,
  Configurable,
  FlagSpec,
  FragmentRenderer,
  HasMiddleware,
  HasShutdown,
  RenderContext,
} from "./types.js";
