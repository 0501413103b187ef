import { optionKeys } from "@burrow/sse-core/adapter";
import { checkOptionKeys, RegistryError } from "./errors.js";

/** Options of {@link Registry.boot}. */
export interface BootOptions {
  /**
   * Command-line flags only, e.g. `process.argv.slice(2)`. Never read from
   * `process.argv` implicitly: a test runner's or a parent CLI's arguments
   * are not yours.
   * @default []
   */
  argv?: readonly string[];
  /**
   * Environment variables; an empty value counts as unset.
   * @default process.env
   */
  env?: Readonly<Record<string, string | undefined>>;
  /**
   * Path of a TOML file. When given, it must exist and parse.
   * @default undefined (no file)
   */
  configFile?: string;
}

/** Every key of {@link BootOptions} (a key missing here, or not an option, fails to compile). */
const BOOT_OPTIONS = optionKeys<BootOptions>()(["argv", "env", "configFile"]);

/** Refuses boot options that cannot work, naming the mistake and the fix. */
export function checkBootOptions(options: BootOptions): void {
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new RegistryError(
      `boot: options must be an object, e.g. { argv: process.argv.slice(2) }, got ${shown(options)}`,
    );
  }
  checkOptionKeys(options, BOOT_OPTIONS, "boot");
  const { argv } = options;
  if (argv === undefined) return;
  if (!Array.isArray(argv) || argv.some((arg) => typeof arg !== "string")) {
    throw new RegistryError(
      `boot: argv must be an array of strings, the flags only, e.g. process.argv.slice(2), got ${shown(argv)}`,
    );
  }
  const [node, script] = process.argv;
  if (argv === process.argv || (argv.length >= 2 && argv[0] === node && argv[1] === script)) {
    throw new RegistryError(
      "boot: argv is process.argv, whose first two entries are node and the script: pass the flags only, process.argv.slice(2)",
    );
  }
}

/** A value as a message shows it: strings quoted, so `"--x"` reads as a string. */
function shown(value: unknown): string {
  if (typeof value === "string") return `${JSON.stringify(value)} (a string)`;
  if (Array.isArray(value)) return "an array holding something other than strings";
  if (typeof value === "object" && value !== null) return "an object";
  return String(value);
}
