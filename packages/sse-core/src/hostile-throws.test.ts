import { itAnswersWhateverIsThrown } from "@burrow/test-utils/error-contract-suite";
import { killServers, sharedFixture } from "@burrow/test-utils/fixture-process";
import { afterAll, describe } from "vitest";

// Issue 23 item 3, on node:http: the error path read `status` (and a brand)
// off whatever a callback threw, so a value that throws on being read made
// the error path throw in turn: an unhandled rejection, and the server
// process exits. The server runs as its own process
// (fixtures/hostile-server.mjs), where such a crash shows.

const server = sharedFixture(new URL("./fixtures/hostile-server.mjs", import.meta.url));
afterAll(killServers);

describe("node:http handlers: whatever a callback throws, the client gets a 500 and the process lives (issue 23 item 3)", () => {
  // A topic function (handlerFunc), authorize, presence, streamHandler's authorize.
  itAnswersWhateverIsThrown(server, ["/topics", "/authorize", "/presence", "/stream-authorize"]);
});
