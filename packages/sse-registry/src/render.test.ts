import { describe, expect, it } from "vitest";
import {
  type FragmentRenderer,
  publishFragment,
  Registry,
  RegistryError,
  renderFragment,
  SSEApp,
} from "./index.js";

describe("renderFragment", () => {
  it("renders with the registry's renderer, passing name, data and context", async () => {
    const registry = new Registry();
    registry.setRenderer((name, data, context) => `${name}|${String(data.n)}|${context.locale}`);
    expect(await renderFragment(registry, "x/y", { n: 1 }, { locale: "fr" })).toBe("x/y|1|fr");
    // the context defaults to an empty one
    registry.setRenderer((_name, _data, context) => JSON.stringify(context));
    expect(await renderFragment(registry, "x", {})).toBe("{}");
  });

  it("is a RegistryError without a renderer", async () => {
    const err = await renderFragment(new Registry(), "x", {}).catch((e: unknown) => e);
    expect(RegistryError.isInstance(err)).toBe(true);
    expect((err as Error).message).toBe(
      'sse: no renderer set: call registry.setRenderer() before rendering fragment "x"',
    );
  });

  it("wraps a failing renderer's error, and refuses a non-string result", async () => {
    const registry = new Registry();
    const boom = new Error("template not found");
    registry.setRenderer(() => {
      throw boom;
    });
    const err = (await renderFragment(registry, "x", {}).catch((e: unknown) => e)) as RegistryError;
    expect(err.message).toBe('sse: rendering fragment "x" failed');
    expect(err.cause).toBe(boom);
    registry.setRenderer((() => 42) as unknown as FragmentRenderer);
    await expect(renderFragment(registry, "x", {})).rejects.toThrow("returned number");
  });
});

describe("publishFragment", () => {
  it("returns 0 and renders nothing when there is no broker (not added, not configured, closed)", async () => {
    let renders = 0;
    const render: FragmentRenderer = () => {
      renders++;
      return "<p/>";
    };
    const without = new Registry();
    without.setRenderer(render);
    expect(await publishFragment(without, "t", "x", {})).toBe(0);

    const registry = new Registry().add(new SSEApp());
    registry.setRenderer(render);
    expect(await publishFragment(registry, "t", "x", {})).toBe(0);
    await registry.boot({ env: {} });
    await registry.shutdown();
    expect(await publishFragment(registry, "t", "x", {})).toBe(0);
    expect(renders).toBe(0);
  });

  it("needs a renderer once there is a broker, and returns how many clients it queued for", async () => {
    const registry = new Registry().add(new SSEApp());
    await registry.boot({ env: {} });
    await expect(publishFragment(registry, "t", "x", {})).rejects.toThrow("no renderer set");
    registry.setRenderer(() => "<p>hi</p>");
    const client = registry.get<SSEApp>("sse")!.broker!.subscribe("t");
    expect(await publishFragment(registry, "t", "x", {})).toBe(1);
    expect(await publishFragment(registry, "other", "x", {})).toBe(0);
    await registry.shutdown();
    const events = [];
    for await (const event of client) events.push(event);
    expect(events).toEqual([expect.objectContaining({ type: "t", data: "<p>hi</p>" })]);
  });
});
