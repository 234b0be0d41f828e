/**
 * Telling "the database cannot be reached right now" apart from every other database error: the
 * first is nobody's fault and passes (HTTP answers 503 with Retry-After, a consumer waits and
 * tries again without counting it against the message); the others are bugs or bad data.
 */

/** Thrown by the pool itself: no connection could be had in time, or the pool is closed. */
export class DatabaseUnavailableError extends Error {
  override name = "DatabaseUnavailableError";

  constructor(
    message: string,
    /** ACQUIRE_TIMEOUT or CONNECTION_ENDED. */
    readonly code: string,
  ) {
    super(message);
  }
}

/** postgres.js's own connection errors, and the socket errors it passes on. */
const connectionCodes = new Set([
  "CONNECTION_CLOSED",
  "CONNECTION_DESTROYED",
  "CONNECTION_ENDED",
  "CONNECT_TIMEOUT",
  "ACQUIRE_TIMEOUT",
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EHOSTDOWN",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

/**
 * SQLSTATEs of a server that is going away or not taking sessions: class 08 (connection
 * exception), 57P01–57P03 (shutting down, crashed, starting up), 53300 (too many connections).
 */
const unavailableStates = /^(08...|57P0[123]|53300)$/;

/** True when `error` (or an error it wraps) says the database is unreachable, not that a query is wrong. */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth++) {
    if (current instanceof DatabaseUnavailableError) return true;
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && (connectionCodes.has(code) || unavailableStates.test(code))) return true;
  }
  return false;
}
