import type { Kysely } from "kysely";
import type { Admission } from "../../../shared/admission/admission";
import { orderIntakeBoundsDefaults } from "../orders.settings";
import { BoundedQueue, type QueueBounds } from "../../../shared/admission/bounded-queue";
import { RequestAbandonedError } from "../../../shared/admission/overloaded-error";
import { isDatabaseUnavailable } from "../../../shared/db/unavailable";
import type { LocalRelay } from "../../../shared/messaging/messaging-endpoint";
import type { OrderRow } from "../db/orders.repository";
import type { OrdersDatabase } from "../db/orders.tables";
import { placeOrders, type OrderInput } from "./place-order";

interface Waiting {
  input: OrderInput;
  resolve(row: OrderRow): void;
  reject(error: unknown): void;
}

export interface OrderIntakeOptions {
  /** Orders written per statement at most. Default 200. */
  maxBatch?: number;
  /** Statements in flight at once. Default 2. */
  maxInFlight?: number;
  /**
   * Shortest time between the starts of two statements (the group commit's window): an order
   * placed when the intake has been idle is written at once; one placed soon after a statement
   * started waits until this long after it, with whatever else arrives meanwhile. Default 25 ms:
   * at 300 orders/s a batch then holds about 7 orders, and what every stage pays per batch (round
   * trips, wake-ups, commits) is shared by them; measured against 15 and 20 ms in BENCHMARKS.md
   * (about 16 % less CPU per order than 15 ms, for about 7 ms more median latency, p99 within 50 ms).
   */
  intervalMs?: number;
  /**
   * The relay of this process: while it is the active one, a statement skips NOTIFY and the relay
   * is woken right after the commit (cheaper than a notification through the database).
   */
  relay?: LocalRelay;
  /**
   * How many orders may wait for a statement, and for how long, before new ones are refused.
   * Default 1,000 orders and 500 ms (ORDER_INTAKE_MAX_QUEUE and ORDER_INTAKE_MAX_WAIT's defaults).
   */
  bounds?: QueueBounds;
  /** Where the queue is watched (metrics, readiness); without it the queue is private. */
  admission?: Admission;
}

/** The name of the intake's queue in metrics and problems. */
export const orderIntakeQueue = "order-intake";


/**
 * Group commit for new orders. Orders placed while earlier statements are in flight, or within
 * the window after the last one started, wait and are then written together, as one statement and
 * one commit; a lone order after a quiet spell is written at once. So the database does one commit
 * for several orders even at a moderate rate, and every stage after it (the relay, both consumers,
 * the live updates) gets them as one batch too. Each caller's promise resolves only once its order
 * has committed, so an answered order is never lost.
 *
 * If a shared statement fails for another reason than the database being unavailable, each of its
 * orders is retried on its own, so one order's failure is never another's.
 *
 * The queue is bounded (`bounds`): past `maxQueue` waiting orders, or while the oldest has waited
 * `maxWaitMs`, `place` refuses at once with `OverloadedError` and writes nothing, so under
 * overload an accepted order still commits within about `maxWaitMs` plus one statement. An order
 * whose caller's signal aborts while it waits leaves the queue unwritten (`RequestAbandonedError`).
 */
export class OrderIntake {
  readonly #waiting: BoundedQueue<Waiting>;
  readonly #maxBatch: number;
  readonly #maxInFlight: number;
  readonly #relay: LocalRelay | undefined;
  readonly #intervalMs: number;
  #inFlight = 0;
  /** When the last statement started (performance.now()), and the timer that starts the next. */
  #lastStart = Number.NEGATIVE_INFINITY;
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #drainWaiters: (() => void)[] = [];

  constructor(private readonly db: Kysely<OrdersDatabase>, options: OrderIntakeOptions = {}) {
    this.#maxBatch = options.maxBatch ?? 200;
    this.#maxInFlight = options.maxInFlight ?? 2;
    this.#relay = options.relay;
    this.#intervalMs = options.intervalMs ?? 25;
    const bounds = options.bounds ?? orderIntakeBoundsDefaults;
    const hooks = {
      abandoned: (waiting: Waiting) => {
        waiting.reject(new RequestAbandonedError(orderIntakeQueue));
        this.#settleDrain();
      },
    };
    this.#waiting = options.admission ? options.admission.queue(orderIntakeQueue, bounds, hooks) : new BoundedQueue(orderIntakeQueue, bounds, hooks);
  }

  /**
   * Resolves with the order once it has committed. Rejects at once with `OverloadedError` when the
   * queue is past its bounds, and with `RequestAbandonedError` when `signal` aborts before the
   * order's statement starts; in both cases nothing was written.
   */
  place(input: OrderInput, signal?: AbortSignal): Promise<OrderRow> {
    return new Promise((resolve, reject) => {
      this.#waiting.push({ input, resolve, reject }, signal);
      this.#pump();
    });
  }

  /** Throws `OverloadedError` if an order placed now would be refused: the check, before any work. */
  assertRoom(): void {
    this.#waiting.assertRoom();
  }

  /** Resolves once every order handed in so far has been written (or has failed). */
  async drain(): Promise<void> {
    if (this.#inFlight === 0 && this.#waiting.depth === 0) return;
    await new Promise<void>((resolve) => this.#drainWaiters.push(resolve));
  }

  #settleDrain(): void {
    if (this.#inFlight === 0 && this.#waiting.depth === 0) for (const resolve of this.#drainWaiters.splice(0)) resolve();
  }

  #pump(): void {
    while (this.#inFlight < this.#maxInFlight && this.#waiting.depth > 0) {
      const wait = this.#lastStart + this.#intervalMs - performance.now();
      if (wait >= 1) {
        this.#timer ??= setTimeout(() => {
          this.#timer = undefined;
          this.#pump();
        }, wait);
        return;
      }
      this.#lastStart = performance.now();
      const batch = this.#waiting.take(this.#maxBatch);
      this.#inFlight++;
      void this.#write(batch).finally(() => {
        this.#inFlight--;
        this.#pump();
        this.#settleDrain();
      });
    }
  }

  async #write(batch: Waiting[]): Promise<void> {
    try {
      const local = this.#relay?.active ?? false;
      const rows = await placeOrders(this.db, batch.map((waiting) => waiting.input), { notify: !local });
      if (local) this.#relay!.wake();
      batch.forEach((waiting, index) => waiting.resolve(rows[index]!));
    } catch (error) {
      if (batch.length === 1 || isDatabaseUnavailable(error)) {
        for (const waiting of batch) waiting.reject(error);
        return;
      }
      for (const waiting of batch) await this.#write([waiting]);
    }
  }
}
