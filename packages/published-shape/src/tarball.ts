/**
 * What a packed tarball would put on the registry (its files with their
 * sizes, its manifest as published), and what must never be in it: a
 * private package, a `workspace:` range, tests, fixtures or sources, a file
 * outside the shipped folders, a source map that points at a file the
 * tarball does not hold.
 */
import { mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, posix } from "node:path";
import { run } from "./pack.js";

/** One file of a tarball, by its path inside the package. */
export interface PackedFile {
  path: string;
  /** Bytes, unpacked. */
  size: number;
}

/** A tarball, unpacked. */
export interface PackedPackage {
  /** The manifest as it would be published (`workspace:` ranges already rewritten by the packer). */
  manifest: Record<string, unknown> & { name: string; version: string };
  /** Every file, sorted by path. */
  files: PackedFile[];
  /** Where it was unpacked. */
  dir: string;
  /** Bytes of the tarball itself. */
  tarballSize: number;
}

/** The dependency fields of a manifest, as npm installs them. */
export const dependencyFields = [
  "dependencies",
  "peerDependencies",
  "optionalDependencies",
] as const;

/** What a package may ship, by path: its manifest, README, CHANGELOG, licence, `dist/` and `examples/`. */
const SHIPPED =
  /^(?:package\.json|README\.md|CHANGELOG\.md|LICEN[CS]E(?:\.md)?|dist\/.+|examples\/.+)$/;
/** Tests, fixtures and sources never ship, wherever they are. */
const NEVER = [
  [/(?:^|\/)[^/]+\.(?:test|spec)\.[cm]?[jt]sx?$/, "a test file"],
  [/(?:^|\/)(?:__tests__|tests?|fixtures|__fixtures__)\//, "a test or fixture folder"],
  [/(?:^|\/)src\//, "sources (src/)"],
  [
    /(?:^|\/)(?:tsconfig[^/]*\.json|tsup\.config\.[cm]?[jt]s|vitest\.config\.[cm]?[jt]s)$/,
    "build configuration",
  ],
] as const;

/** Unpacks `tarball` into a new temporary folder and lists it. */
export async function unpack(tarball: string): Promise<PackedPackage> {
  const dir = mkdtempSync(join(tmpdir(), "burrow-tarball-"));
  await run("tar", ["-xzf", tarball, "-C", dir, "--strip-components=1"]);
  return listPackage(dir, statSync(tarball).size);
}

/** The package unpacked in `dir` (its tarball `tarballSize` bytes). */
export function listPackage(dir: string, tarballSize = 0): PackedPackage {
  const files: PackedFile[] = [];
  const walk = (folder: string) => {
    for (const entry of readdirSync(join(dir, folder), { withFileTypes: true })) {
      const path = folder === "" ? entry.name : `${folder}/${entry.name}`;
      if (entry.isDirectory()) walk(path);
      else files.push({ path, size: statSync(join(dir, path)).size });
    }
  };
  walk("");
  files.sort((a, b) => a.path.localeCompare(b.path));
  const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  return { manifest, files, dir, tarballSize };
}

/** Everything in `pkg` that must not reach the registry, one sentence each; empty when none. */
export function problems(pkg: PackedPackage): string[] {
  const { manifest, files } = pkg;
  const found: string[] = [];
  if (manifest.private === true) found.push("is private: a private package is never published");
  for (const field of [...dependencyFields, "devDependencies"] as const) {
    const ranges = (manifest[field] ?? {}) as Record<string, string>;
    for (const [name, range] of Object.entries(ranges)) {
      if (range.startsWith("workspace:")) {
        found.push(`${field}.${name} is "${range}": a workspace: range left in the manifest`);
      }
    }
  }
  const paths = new Set(files.map((file) => file.path));
  for (const { path } of files) {
    if (!SHIPPED.test(path))
      found.push(`ships ${path}, outside package.json, README, CHANGELOG, dist/ and examples/`);
    for (const [pattern, what] of NEVER) {
      if (pattern.test(path)) found.push(`ships ${path}: ${what}`);
    }
    found.push(...sourceMapProblems(pkg.dir, path, paths));
  }
  return found;
}

/** A script's `sourceMappingURL` must name a shipped map; a map's sources must be shipped or embedded. */
function sourceMapProblems(dir: string, path: string, paths: Set<string>): string[] {
  const found: string[] = [];
  if (/\.[cm]?js$/.test(path)) {
    const text = readFileSync(join(dir, path), "utf8");
    const url = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(text)?.[1];
    if (url !== undefined && !url.startsWith("data:")) {
      const map = posix.join(posix.dirname(path), url);
      if (!paths.has(map))
        found.push(`${path} points at the source map ${map}, which is not shipped`);
    }
  }
  if (path.endsWith(".map")) {
    const map = JSON.parse(readFileSync(join(dir, path), "utf8")) as {
      sources?: string[];
      sourcesContent?: (string | null)[];
    };
    (map.sources ?? []).forEach((source, i) => {
      const shipped = paths.has(posix.join(posix.dirname(path), source));
      if (!shipped && typeof map.sourcesContent?.[i] !== "string") {
        found.push(
          `${path} points at ${source}, which is neither shipped nor embedded (sourcesContent)`,
        );
      }
    });
  }
  return found;
}

/** `bytes` as a reader scans it: `812 B`, `14.2 kB`. */
export function formatSize(bytes: number): string {
  return bytes < 1000 ? `${bytes} B` : `${(bytes / 1000).toFixed(1)} kB`;
}

/** What would go to the registry for `pkg`, as `pnpm release` prints it. */
export function describePackage(pkg: PackedPackage): string {
  const { manifest, files } = pkg;
  const unpacked = files.reduce((sum, file) => sum + file.size, 0);
  const lines = [
    `${manifest.name}@${manifest.version}: ${files.length} files, ${formatSize(unpacked)} unpacked, tarball ${formatSize(pkg.tarballSize)}`,
  ];
  for (const field of dependencyFields) {
    const ranges = Object.entries((manifest[field] ?? {}) as Record<string, string>);
    if (ranges.length > 0) {
      lines.push(`  ${field}: ${ranges.map(([name, range]) => `${name} ${range}`).join(", ")}`);
    }
  }
  for (const file of files) lines.push(`  ${formatSize(file.size).padStart(9)}  ${file.path}`);
  return lines.join("\n");
}
