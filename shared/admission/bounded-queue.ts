import { OverloadedError, RequestAbandonedError } from "./overloaded-error";

/** How much a queue in front of a shared resource may hold before it refuses. */
export interface QueueBounds {
  /** Requests waiting at most: one more is refused. */
  maxQueue: number;
  /** While the oldest waiting request has waited this long (ms), new ones are refused. */
  maxWaitMs: number;
}

/** What a queue holds right now (for the gauges and the readiness probe). */
export interface QueueState {
  depth: number;
  /** How long the oldest waiting request has waited, in ms; 0 when none waits. */
  oldestWaitMs: number;
}

export interface BoundedQueueHooks<T> {
  /**
   * A refusal that applies beyond this queue's own bounds (the whole process is overloaded), or
   * undefined; asked first, on every arrival.
   */
  pressure?(): OverloadedError | undefined;
  /** A request was refused: past one of the queue's bounds, or by `pressure` (its queue named). */
  refused?(queue: string): void;
  /** A waiting request's client went away: it has left the queue and will never be taken. */
  abandoned?(item: T): void;
}

interface Entry<T> {
  item: T;
  at: number;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  gone: boolean;
}

/**
 * A FIFO of requests waiting for a shared resource, bounded by count and by the wait of its
 * oldest entry. Past either bound, `push` refuses at once with `OverloadedError`: the caller has
 * written nothing and answers 503. So what is admitted waits about `maxWaitMs` at most, whatever
 * the load, and the queue holds at most `maxQueue` requests, whatever the rate. A request whose
 * `signal` aborts (its client went away) leaves the queue and is never taken.
 */
export class BoundedQueue<T> {
  readonly #entries: Entry<T>[] = [];
  /** Index of the first entry not yet taken; entries before it are dead. */
  #head = 0;
  /** Entries waiting (neither taken nor abandoned). */
  #depth = 0;
  readonly retryAfterSeconds: number;
  /**
   * The one refusal this queue throws: made once, because under overload most requests are
   * refused, and capturing a stack for each would make refusing a large share of the work.
   */
  readonly #refusal: OverloadedError;

  constructor(
    readonly name: string,
    readonly bounds: QueueBounds,
    private readonly hooks: BoundedQueueHooks<T> = {},
  ) {
    this.retryAfterSeconds = Math.max(1, Math.ceil(bounds.maxWaitMs / 1_000));
    this.#refusal = new OverloadedError(name, this.retryAfterSeconds);
  }

  get depth(): number {
    return this.#depth;
  }

  state(now = performance.now()): QueueState {
    const oldest = this.#oldest();
    return { depth: this.#depth, oldestWaitMs: oldest ? now - oldest.at : 0 };
  }

  /** Throws `OverloadedError` if a request arriving now would be refused; a cheap check before any work. */
  assertRoom(now = performance.now()): void {
    this.assertNoPressure();
    if (this.#depth < this.bounds.maxQueue && this.state(now).oldestWaitMs < this.bounds.maxWaitMs) return;
    this.hooks.refused?.(this.name);
    throw this.#refusal;
  }

  /** Throws the refusal of `hooks.pressure` (the whole process is overloaded), if there is one. */
  assertNoPressure(): void {
    const pressure = this.hooks.pressure?.();
    if (!pressure) return;
    this.hooks.refused?.(pressure.queue);
    throw pressure;
  }

  /**
   * Queues `item`, or throws: `OverloadedError` past a bound, `RequestAbandonedError` when
   * `signal` has already aborted. If `signal` aborts while the item waits, the item leaves the
   * queue and `hooks.abandoned(item)` is called.
   */
  push(item: T, signal?: AbortSignal): void {
    if (signal?.aborted) throw new RequestAbandonedError(this.name);
    const now = performance.now();
    this.assertRoom(now);
    const entry: Entry<T> = { item, at: now, signal, onAbort: undefined, gone: false };
    if (signal) {
      entry.onAbort = () => {
        if (entry.gone) return;
        entry.gone = true;
        this.#depth--;
        this.hooks.abandoned?.(item);
      };
      signal.addEventListener("abort", entry.onAbort, { once: true });
    }
    this.#entries.push(entry);
    this.#depth++;
  }

  /** Removes and returns up to `max` waiting items, oldest first. */
  take(max: number): T[] {
    const taken: T[] = [];
    while (taken.length < max && this.#head < this.#entries.length) {
      const entry = this.#entries[this.#head++]!;
      if (entry.gone) continue;
      entry.gone = true;
      this.#depth--;
      if (entry.onAbort) entry.signal!.removeEventListener("abort", entry.onAbort);
      taken.push(entry.item);
    }
    this.#compact();
    return taken;
  }

  #oldest(): Entry<T> | undefined {
    while (this.#head < this.#entries.length && this.#entries[this.#head]!.gone) this.#head++;
    return this.#entries[this.#head];
  }

  /** Drops the dead prefix once it is most of the array (amortised O(1) per entry). */
  #compact(): void {
    if (this.#head === this.#entries.length) {
      this.#entries.length = 0;
      this.#head = 0;
    } else if (this.#head > 1_024 && this.#head * 2 > this.#entries.length) {
      this.#entries.splice(0, this.#head);
      this.#head = 0;
    }
  }
}
