/**
 * `describe` for tests that need an outside service (Redis, PostgreSQL):
 * skipped with the reason when the service is missing, except under
 * `CI=true`, where a missing service fails the run.
 */
import { describe, it } from "vitest";

/**
 * Runs `body` as `describe(name)` when `unavailable` is undefined; else skips
 * it, its name saying why and `hint` (what to set), or, under `CI=true`,
 * fails with that reason.
 */
export function describeWithService(
  unavailable: string | undefined,
  what: string,
  hint: string,
  name: string,
  body: () => void,
): void {
  if (unavailable === undefined) {
    describe(name, body);
  } else if (process.env.CI === "true") {
    describe(name, () => {
      it(`needs ${what} (required under CI=true)`, () => {
        throw new Error(`${unavailable}; ${hint}`);
      });
    });
  } else {
    describe.skip(`${name} [skipped: ${unavailable}; ${hint}]`, body);
  }
}
