/**
 * What happens to an event for a client whose buffer is full:
 * `"drop-newest"` loses the new event (the Go original's rule);
 * `"drop-oldest"` loses the oldest queued one and keeps the new;
 * `"disconnect"` ends the client (a browser reconnects, and with history on
 * resumes without loss).
 */
export type SlowClientPolicy = "drop-newest" | "drop-oldest" | "disconnect";
