import { AdmissionGate, type AdmissionGateOptions } from "./admission-gate";
import { BoundedQueue, type BoundedQueueHooks, type QueueBounds, type QueueState } from "./bounded-queue";
import type { EventLoopDelay } from "./event-loop-delay";
import { OverloadedError } from "./overloaded-error";

export interface NamedQueueState extends QueueState {
  queue: string;
}

/** The name under which refusals for a late event loop are counted and reported. */
export const eventLoopQueue = "event-loop";

export interface AdmissionOptions {
  /** How long after a refusal `shedding()` still names its queue. Default 1 s. */
  holdMs?: number;
  /**
   * The process's event loop and the most it may lag (ms): past it, every queue refuses new
   * requests until it is back under, whatever room the queue has. Without it, only the queues'
   * own bounds refuse.
   */
  eventLoop?: { delay: Pick<EventLoopDelay, "delayMs">; maxDelayMs: number };
}

/**
 * The process's bounded queues, in one place: each module builds its queues here, so `/metrics`
 * shows every queue's depth and oldest wait, and `/health/ready` says "overloaded" while any of
 * them is refusing requests (a refusal within the last `holdMs`), so a load balancer can steer new
 * traffic elsewhere. With `eventLoop`, a process whose loop runs late refuses new work in every
 * queue: the CPU it has is spent answering what it admitted, and its probes, in time.
 */
export class Admission {
  readonly #states = new Map<string, (now: number) => QueueState>();
  readonly #lastRefusal = new Map<string, number>();
  readonly #holdMs: number;
  readonly #pressure: (() => OverloadedError | undefined) | undefined;

  constructor(options: AdmissionOptions = {}) {
    this.#holdMs = options.holdMs ?? 1_000;
    const eventLoop = options.eventLoop;
    if (eventLoop) {
      const lagging = new OverloadedError(eventLoopQueue, 1);
      this.#pressure = () => (eventLoop.delay.delayMs > eventLoop.maxDelayMs ? lagging : undefined);
    }
  }

  /** A bounded queue, watched under `name`. */
  queue<T>(name: string, bounds: QueueBounds, hooks: BoundedQueueHooks<T> = {}): BoundedQueue<T> {
    const queue = new BoundedQueue<T>(name, bounds, {
      ...hooks,
      pressure: this.#pressure,
      refused: (refusing) => this.#refused(refusing, () => hooks.refused?.(refusing)),
    });
    this.watch(name, (now) => queue.state(now));
    return queue;
  }

  /** A concurrency limit with a bounded queue in front, watched under `name`. */
  gate(name: string, options: AdmissionGateOptions): AdmissionGate {
    const gate = new AdmissionGate(name, options, { pressure: this.#pressure, refused: (refusing) => this.#refused(refusing) });
    this.watch(name, (now) => gate.state(now));
    return gate;
  }

  /** Reports a queue kept elsewhere (a connection pool's waiters) in the gauges. */
  watch(name: string, state: (now: number) => QueueState): void {
    if (this.#states.has(name)) throw new Error(`a queue named ${name} is already watched`);
    this.#states.set(name, state);
  }

  /** Every watched queue's depth and oldest wait. */
  states(now = performance.now()): NamedQueueState[] {
    return [...this.#states].map(([queue, state]) => ({ queue, ...state(now) }));
  }

  /** The queues that refused a request within the last `holdMs`; empty when none is shedding. */
  shedding(now = performance.now()): string[] {
    return [...this.#lastRefusal].filter(([, at]) => now - at < this.#holdMs).map(([queue]) => queue);
  }

  #refused(name: string, also?: () => void): void {
    this.#lastRefusal.set(name, performance.now());
    also?.();
  }
}
