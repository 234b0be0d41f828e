import { BoundedQueue, type BoundedQueueHooks, type QueueBounds, type QueueState } from "./bounded-queue";
import { RequestAbandonedError } from "./overloaded-error";

export interface AdmissionGateOptions extends QueueBounds {
  /** Tasks running at once; the others wait in the gate's bounded queue. */
  concurrency: number;
}

interface Waiter {
  admit(): void;
  abandon(): void;
}

/**
 * A concurrency limit with a bounded queue in front of it: at most `concurrency` tasks run at
 * once, at most `maxQueue` wait (for at most about `maxWaitMs`), and a task arriving past either
 * bound is refused at once with `OverloadedError`, before it has done anything. A waiting task
 * whose client goes away (its signal aborts) is dropped without running.
 */
export class AdmissionGate {
  readonly #queue: BoundedQueue<Waiter>;
  readonly #concurrency: number;
  #running = 0;

  constructor(name: string, options: AdmissionGateOptions, hooks: Pick<BoundedQueueHooks<Waiter>, "refused" | "pressure"> = {}) {
    this.#concurrency = options.concurrency;
    this.#queue = new BoundedQueue<Waiter>(name, options, { ...hooks, abandoned: (waiter) => waiter.abandon() });
  }

  get name(): string {
    return this.#queue.name;
  }

  state(now?: number): QueueState {
    return this.#queue.state(now);
  }

  /** Throws `OverloadedError` if a task arriving now would be refused. */
  assertRoom(): void {
    if (this.#running < this.#concurrency && this.#queue.depth === 0) this.#queue.assertNoPressure();
    else this.#queue.assertRoom();
  }

  /** Runs `task` when a place is free; throws `OverloadedError` or `RequestAbandonedError` without running it. */
  async run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (this.#running < this.#concurrency && this.#queue.depth === 0) {
      if (signal?.aborted) throw new RequestAbandonedError(this.#queue.name);
      this.#queue.assertNoPressure();
      this.#running++;
    } else {
      // The place is handed over by the task that frees it (#release), so #running stays counted.
      await new Promise<void>((admit, reject) =>
        this.#queue.push({ admit, abandon: () => reject(new RequestAbandonedError(this.#queue.name)) }, signal),
      );
    }
    try {
      return await task();
    } finally {
      this.#release();
    }
  }

  #release(): void {
    const [next] = this.#queue.take(1);
    if (next) next.admit();
    else this.#running--;
  }
}
