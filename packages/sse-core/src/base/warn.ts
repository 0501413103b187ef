/**
 * Emits `message` as a process warning of type `SSEWarning` with `code`
 * where there is one (Node, Bun, Deno), else on the console. @internal
 */
export function warn(message: string, code: string): void {
  if (typeof process !== "undefined" && typeof process.emitWarning === "function") {
    process.emitWarning(message, { type: "SSEWarning", code });
  } else {
    console.warn(message);
  }
}
