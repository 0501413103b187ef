/**
 * Shared test helpers for the Burrow SSE packages: real servers on loopback,
 * real SSE clients (the `eventsource` package and a raw TCP client parsed by
 * `eventsource-parser`), and a condition poller. Not published.
 */

export type { AdapterHarness, SuiteBroker } from "./adapter-harness.js";
export { APP_ERROR_PAGE } from "./adapter-harness.js";
export { describeAdapter } from "./adapter-suite.js";
export type { RawClient, RecordingEventSource } from "./clients.js";
export {
  EventSource,
  type EventSourceMessage,
  parseSSE,
  rawClient,
  recordEvents,
} from "./clients.js";
export type { Gate, PipelinedClient, SocketCount } from "./connections.js";
export { gate, pipelined, trackSockets } from "./connections.js";
export { fromFetch } from "./fetch-bridge.js";
export { collectGarbage } from "./gc.js";
export type { HandBackplane, HandReport, HandState } from "./hand-backplane.js";
export { handBackplane } from "./hand-backplane.js";
export type { HeldEvent, HeldReplay, HeldReplays } from "./held-replays.js";
export { heldReplays } from "./held-replays.js";
export { longKeepAlive, stopWithinBound } from "./keep-alive.js";
export { describeQuickStart, describeSnapshotExample, startExample } from "./quick-start-suite.js";
export { cleanupAfterEach, listen, type TestServer } from "./server.js";
export type { DroppingBroker } from "./slow-client.js";
export { blockStream, readUntil } from "./slow-client.js";
export { type HoldingProxy, holdingProxy, type TcpProxy, tcpProxy } from "./tcp-proxy.js";
export { type TopicHandlerFunc, topicAnswer } from "./topic-answer.js";
export { recordSubscriptions, rejectionOf, take, thrownBy, waitFor } from "./waits.js";
