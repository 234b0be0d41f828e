import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { NamedQueueState } from "./admission/admission";
import type { BusObserver } from "./bus/delivery";

/** What a module's outbox looks like right now (for the backlog gauges). */
export interface OutboxState {
  backlog: number;
  /** Age of the oldest unpublished row; 0 when there is none. */
  oldestAgeSeconds: number;
}


/** Dead letters of one topic in one state, as a module's table holds them. */
export interface DeadLetterCount {
  topic: string;
  state: string;
  count: number;
}

/** A module's dead-letter table, read at each scrape. */
export interface DeadLetterProbe {
  topics: readonly string[];
  states: readonly string[];
  counts(): Promise<DeadLetterCount[]>;
}

/** What an inbox consumer reports. */
export interface ConsumerObserver {
  consumed(count: number): void;
  duplicatesSkipped(count: number): void;
}

/**
 * The process's Prometheus metrics (served at `/metrics`): HTTP requests, outbox backlog and age,
 * messages consumed, duplicates skipped, retries, dead letters, WebSocket connections.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly #outboxes = new Map<string, () => Promise<OutboxState>>();
  readonly #socketCounts = new Set<() => number>();
  readonly #deadLetterTables = new Map<string, DeadLetterProbe>();
  readonly #queueSources = new Set<() => NamedQueueState[]>();
  #eventLoopDelayMs: (() => number) | undefined;

  readonly httpRequests = new Counter({
    name: "gozon_http_requests_total",
    help: "HTTP requests by method, route and status",
    labelNames: ["method", "route", "status"] as const,
    registers: [this.registry],
  });
  readonly httpDuration = new Histogram({
    name: "gozon_http_request_duration_seconds",
    help: "HTTP request duration by method and route",
    labelNames: ["method", "route"] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly messagesConsumed = new Counter({
    name: "gozon_messages_consumed_total",
    help: "Messages handled by an inbox consumer (duplicates included)",
    labelNames: ["topic", "group"] as const,
    registers: [this.registry],
  });
  readonly duplicatesSkipped = new Counter({
    name: "gozon_messages_duplicates_skipped_total",
    help: "Messages the inbox had seen before, skipped without effect",
    labelNames: ["topic", "group"] as const,
    registers: [this.registry],
  });
  readonly retries = new Counter({
    name: "gozon_message_retries_total",
    help: "Handler failures that led to another try",
    labelNames: ["topic", "group"] as const,
    registers: [this.registry],
  });
  readonly deadLetters = new Counter({
    name: "gozon_messages_dead_lettered_total",
    help: "Messages moved to <topic>.dlq",
    labelNames: ["topic", "group"] as const,
    registers: [this.registry],
  });

  readonly requestsShed = new Counter({
    name: "gozon_requests_shed_total",
    help: "Requests refused with 503 because a queue in front of a shared resource was past its bounds, by route",
    labelNames: ["route"] as const,
    registers: [this.registry],
  });
  readonly rowsDeleted = new Counter({
    name: "gozon_retention_deleted_rows_total",
    help: "Rows deleted by the retention job, per module and table",
    labelNames: ["module", "table"] as const,
    registers: [this.registry],
  });

  constructor() {
    const outboxes = this.#outboxes;
    const deadLetterTables = this.#deadLetterTables;
    const socketCounts = this.#socketCounts;
    const queueSources = this.#queueSources;
    const queues = () => [...queueSources].flatMap((states) => states());
    const states = async () =>
      Promise.all([...outboxes].map(async ([module, probe]) => ({ module, state: await probe().catch(() => undefined) })));
    new Gauge({
      name: "gozon_outbox_backlog",
      help: "Outbox rows not yet published, per module",
      labelNames: ["module"] as const,
      registers: [this.registry],
      async collect() {
        for (const { module, state } of await states()) if (state) this.set({ module }, state.backlog);
      },
    });
    new Gauge({
      name: "gozon_outbox_oldest_unpublished_age_seconds",
      help: "Age of the oldest unpublished outbox row, per module (0 when none)",
      labelNames: ["module"] as const,
      registers: [this.registry],
      async collect() {
        for (const { module, state } of await states()) if (state) this.set({ module }, state.oldestAgeSeconds);
      },
    });
    new Gauge({
      name: "gozon_dead_letters",
      help: "Rows of the modules' dead-letter tables, per module, topic and state",
      labelNames: ["module", "topic", "state"] as const,
      registers: [this.registry],
      async collect() {
        this.reset();
        await Promise.all(
          [...deadLetterTables].map(async ([module, probe]) => {
            const counts = await probe.counts().catch(() => undefined);
            if (!counts) return; // the database is down: no figure rather than a wrong one
            for (const topic of probe.topics) for (const state of probe.states) this.set({ module, topic, state }, 0);
            for (const { topic, state, count } of counts) this.set({ module, topic, state }, count);
          }),
        );
      },
    });
    new Gauge({
      name: "gozon_websocket_connections",
      help: "Open WebSocket connections",
      registers: [this.registry],
      collect() {
        this.set([...socketCounts].reduce((total, count) => total + count(), 0));
      },
    });
    new Gauge({
      name: "gozon_queue_depth",
      help: "Requests waiting in a bounded queue in front of a shared resource, per queue",
      labelNames: ["queue"] as const,
      registers: [this.registry],
      collect() {
        for (const { queue, depth } of queues()) this.set({ queue }, depth);
      },
    });
    new Gauge({
      name: "gozon_queue_oldest_wait_seconds",
      help: "How long the oldest request in a queue has waited, per queue (0 when none waits)",
      labelNames: ["queue"] as const,
      registers: [this.registry],
      collect() {
        for (const { queue, oldestWaitMs } of queues()) this.set({ queue }, oldestWaitMs / 1_000);
      },
    });
    const eventLoopDelayMs = () => this.#eventLoopDelayMs?.();
    new Gauge({
      name: "gozon_event_loop_delay_seconds",
      help: "How late the event loop runs, smoothed over about 200 ms: past MAX_EVENT_LOOP_DELAY, new requests are refused",
      registers: [this.registry],
      collect() {
        const ms = eventLoopDelayMs();
        if (ms !== undefined) this.set(ms / 1_000);
      },
    });
    collectDefaultMetrics({ register: this.registry, prefix: "gozon_" });
  }

  /** Registers a module's outbox probe, read at each scrape. */
  watchOutbox(module: string, probe: () => Promise<OutboxState>): void {
    this.#outboxes.set(module, probe);
  }

  /** Registers a module's dead-letter table, counted at each scrape. */
  watchDeadLetters(module: string, probe: DeadLetterProbe): void {
    this.#deadLetterTables.set(module, probe);
  }

  /** Registers the process's bounded queues (depth and oldest wait), read at each scrape. */
  watchQueues(states: () => NamedQueueState[]): void {
    this.#queueSources.add(states);
  }

  /** Registers the smoothed event-loop delay (ms) that admission refuses on. */
  watchEventLoopDelay(delayMs: () => number): void {
    this.#eventLoopDelayMs = delayMs;
  }

  /** Registers a source of open WebSocket connections, read at each scrape. */
  watchSockets(count: () => number): void {
    this.#socketCounts.add(count);
  }

  busObserver(): BusObserver {
    return {
      retried: (topic, group) => this.retries.inc({ topic, group }),
      deadLettered: (topic, group) => this.deadLetters.inc({ topic, group }),
    };
  }

  consumerObserver(topic: string, group: string): ConsumerObserver {
    return {
      consumed: (count) => this.messagesConsumed.inc({ topic, group }, count),
      duplicatesSkipped: (count) => this.duplicatesSkipped.inc({ topic, group }, count),
    };
  }
}
