/**
 * A request refused because a queue in front of a shared resource is past its bounds. Nothing was
 * written for it; the client may try again after `retryAfterSeconds` (HTTP answers 503 with
 * `Retry-After`).
 */
export class OverloadedError extends Error {
  override name = "OverloadedError";

  constructor(
    /** The queue that refused, e.g. "order-intake". */
    readonly queue: string,
    readonly retryAfterSeconds: number,
  ) {
    super(`too many requests are waiting (${queue}); try again in ${retryAfterSeconds} s`);
  }
}

/**
 * A queued request whose client went away before its turn: dropped from the queue, nothing
 * written. Nobody is left to read the answer.
 */
export class RequestAbandonedError extends Error {
  override name = "RequestAbandonedError";

  constructor(readonly queue: string) {
    super(`the client went away while its request waited (${queue})`);
  }
}
