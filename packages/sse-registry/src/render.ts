import type { SSEEvent } from "@burrow/sse-core";
import { RegistryError } from "./errors.js";
import type { Registry } from "./registry.js";
import { brokerFromRegistry } from "./sse-app.js";
import type { RenderContext } from "./types.js";

/**
 * Renders fragment `name` with the registry's renderer, outside any request.
 * A {@link RegistryError} when no renderer was set, when it fails (the
 * engine's error is the `cause`) or returns something other than a string.
 *
 * @example
 * ```ts
 * const html = await renderFragment(registry, "articles/list_item", { article }, { locale: "de" });
 * ```
 */
export async function renderFragment(
  registry: Registry,
  name: string,
  data: Record<string, unknown>,
  context: RenderContext = {},
): Promise<string> {
  const renderer = registry.renderer();
  if (renderer === undefined) {
    throw new RegistryError(
      `no renderer set: call registry.setRenderer() before rendering fragment "${name}"`,
    );
  }
  let html: unknown;
  try {
    html = await renderer(name, data, context);
  } catch (err) {
    throw new RegistryError(`rendering fragment "${name}" failed`, { cause: err });
  }
  if (typeof html !== "string") {
    throw new RegistryError(`rendering fragment "${name}" returned ${typeof html}, not a string`);
  }
  return html;
}

/**
 * Renders fragment `name` and publishes it as the `data` of an event on
 * `topic`, through {@link brokerFromRegistry}; `event` adds the other fields
 * (`type`, `id`, `retry`). Returns how many clients it was queued for. When
 * there is no broker (no SSE app, not configured yet) or it is closed, it
 * renders nothing and returns 0: a background job just skips.
 *
 * @example
 * ```ts
 * // in a job, with no request: enrich the context explicitly
 * await publishFragment(registry, "articles", "articles/list_item", { article }, { locale: "de" });
 * ```
 */
export async function publishFragment(
  registry: Registry,
  topic: string,
  name: string,
  data: Record<string, unknown>,
  context: RenderContext = {},
  event: Omit<SSEEvent, "data"> = {},
): Promise<number> {
  const broker = brokerFromRegistry(registry);
  if (broker === undefined || broker.closed) return 0;
  const html = await renderFragment(registry, name, data, context);
  return broker.publish(topic, { ...event, data: html });
}
