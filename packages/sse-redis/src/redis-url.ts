/** The `url` option: shown without its password in every message. Internal. */

/** `url` without its password, for messages. @internal */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString().replace(/\/$/, "");
  } catch {
    return "redis://(unparsable URL)";
  }
}
