import { AdmissionGate, type AdmissionGateOptions } from "./admission-gate";
import { BoundedQueue, type BoundedQueueHooks, type QueueBounds, type QueueState } from "./bounded-queue";

export interface NamedQueueState extends QueueState {
  queue: string;
}

/**
 * The process's bounded queues, in one place: each module builds its queues here, so `/metrics`
 * shows every queue's depth and oldest wait, and `/health/ready` says "overloaded" while any of
 * them is refusing requests (a refusal within the last `holdMs`), so a load balancer can steer new
 * traffic elsewhere.
 */
export class Admission {
  readonly #states = new Map<string, (now: number) => QueueState>();
  readonly #lastRefusal = new Map<string, number>();

  constructor(private readonly holdMs = 1_000) {}

  /** A bounded queue, watched under `name`. */
  queue<T>(name: string, bounds: QueueBounds, hooks: BoundedQueueHooks<T> = {}): BoundedQueue<T> {
    const queue = new BoundedQueue<T>(name, bounds, { ...hooks, refused: () => this.#refused(name, hooks.refused) });
    this.watch(name, (now) => queue.state(now));
    return queue;
  }

  /** A concurrency limit with a bounded queue in front, watched under `name`. */
  gate(name: string, options: AdmissionGateOptions): AdmissionGate {
    const gate = new AdmissionGate(name, options, { refused: () => this.#refused(name) });
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
    return [...this.#lastRefusal].filter(([, at]) => now - at < this.holdMs).map(([queue]) => queue);
  }

  #refused(name: string, also?: () => void): void {
    this.#lastRefusal.set(name, performance.now());
    also?.();
  }
}
