// The backplane kit's `within` (sse-core/adapter): a promise raced against a timeout. Internal.
export { within } from "@burrow/sse-core/adapter";
