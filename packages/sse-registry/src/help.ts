import type { DeclaredFlag } from "./types.js";

/** The `--help` text for `flags`: one block per flag, grouped by app. */
export function formatHelp(flags: readonly DeclaredFlag[]): string {
  const lines = ["Flags (a flag beats the environment, which beats the TOML file):", ""];
  let app: string | undefined;
  for (const { spec, app: owner } of flags) {
    if (owner !== app) {
      if (app !== undefined) lines.push("");
      lines.push(`${owner}:`);
      app = owner;
    }
    const value = spec.type === "bool" ? "" : `=<${spec.type}>`;
    const negation = spec.type === "bool" ? `, --no-${spec.name}` : "";
    lines.push(`  --${spec.name}${value}${negation}`);
    lines.push(`      ${spec.usage}`);
    const where = [
      spec.env === undefined ? undefined : `env ${spec.env}`,
      spec.toml === undefined ? undefined : `toml ${spec.toml}`,
      spec.default === undefined ? undefined : `default ${JSON.stringify(spec.default)}`,
    ].filter((part) => part !== undefined);
    if (where.length > 0) lines.push(`      (${where.join(", ")})`);
  }
  if (app !== undefined) lines.push("");
  lines.push("  --help, -h", "      Show this help");
  return `${lines.join("\n")}\n`;
}
