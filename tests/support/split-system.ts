import { deleteRedisKeys, testRedisPrefix } from "../../shared/testing/redis";
import { createTestDatabase } from "../../shared/testing/postgres";
import { startProcess, type SystemProcess } from "./system-process";

export type Side = "orders" | "payments";

/** The counters of `/metrics` a guarantee test reports, summed over every life of a process. */
export interface MessageCounters {
  consumed: number;
  duplicatesSkipped: number;
  retries: number;
  deadLettered: number;
}

const counterNames: Record<keyof MessageCounters, string> = {
  consumed: "gozon_messages_consumed_total",
  duplicatesSkipped: "gozon_messages_duplicates_skipped_total",
  retries: "gozon_message_retries_total",
  deadLettered: "gozon_messages_dead_lettered_total",
};

/**
 * The system in split mode as an operator runs it: a real `MODE=orders` and a real
 * `MODE=payments` process, each on a fresh PostgreSQL database of its own, talking over Redis
 * under a key prefix of their own. A restarted process comes back on the port it had, so clients
 * keep one URL (and meanwhile get "connection refused", as from a real restart).
 */
export class SplitSystem {
  readonly prefix = testRedisPrefix();
  readonly databaseUrls = {} as Record<Side, string>;
  readonly urls = {} as Record<Side, string>;
  readonly #processes = {} as Record<Side, SystemProcess>;
  readonly #drops: (() => Promise<void>)[] = [];
  readonly #exited: { side: Side; process: SystemProcess }[] = [];
  /** Counters of the processes' earlier lives, read just before each of them was stopped or killed. */
  readonly #carried: Record<Side, MessageCounters> = { orders: zeroCounters(), payments: zeroCounters() };

  private constructor(
    readonly redisUrl: string,
    /** Further environment for both processes (e.g. retention windows). */
    readonly env: Record<string, string>,
  ) {}

  /** Creates both databases and starts both processes; `cleanup()` undoes all of it. */
  static async start(redisUrl: string, env: Record<string, string> = {}): Promise<SplitSystem> {
    const system = new SplitSystem(redisUrl, env);
    try {
      for (const side of ["orders", "payments"] as const) {
        const database = await createTestDatabase();
        system.#drops.push(database.drop);
        system.databaseUrls[side] = database.url;
      }
      await Promise.all([system.#launch("orders"), system.#launch("payments")]);
      return system;
    } catch (error) {
      await system.cleanup();
      throw error;
    }
  }

  async #launch(side: Side): Promise<void> {
    const port = this.urls[side] ? new URL(this.urls[side]).port : "0";
    const started = await startProcess({
      MODE: side,
      PORT: port,
      DATABASE_URL: this.databaseUrls[side],
      BUS: "redis",
      REDIS_URL: this.redisUrl,
      REDIS_PREFIX: this.prefix,
      ...this.env,
    });
    this.#processes[side] = started;
    this.urls[side] = await started.listening();
  }

  /** SIGKILL (a crash: nothing is finished, acknowledged or handed back), then a fresh start on the same port. */
  async crashAndRestart(side: Side): Promise<void> {
    await this.crash(side);
    await this.restart(side);
  }

  /**
   * SIGKILL, and no restart until `restart(side)`: meanwhile the side's messages wait on the bus
   * and its API refuses connections.
   */
  async crash(side: Side): Promise<void> {
    await this.#carry(side);
    const dead = this.#processes[side];
    await dead.kill();
    this.#exited.push({ side, process: dead });
  }

  /** Starts `side` again, on the port it had, after `crash(side)`. */
  async restart(side: Side): Promise<void> {
    if (!this.#exited.some((exited) => exited.process === this.#processes[side])) throw new Error(`${side} is running: crash it first`);
    await this.#launch(side);
  }

  /** The counters of every life of `side`'s process so far (the live one read now). */
  async counters(side: Side): Promise<MessageCounters> {
    const live = await this.scrape(side);
    const carried = this.#carried[side];
    return {
      consumed: carried.consumed + live.consumed,
      duplicatesSkipped: carried.duplicatesSkipped + live.duplicatesSkipped,
      retries: carried.retries + live.retries,
      deadLettered: carried.deadLettered + live.deadLettered,
    };
  }

  /** The last lines of every life of `side`'s process, for a failure message. */
  output(side: Side): string {
    return this.#lives(side)
      .map((life) => `${life.output.stderr}${life.output.stdout}`)
      .join("\n--- restarted ---\n")
      .split("\n")
      .slice(-40)
      .join("\n");
  }

  /** What every life of `side`'s process logged (its JSON lines on stdout), parsed, oldest first. */
  logLines(side: Side): Record<string, unknown>[] {
    return this.#lives(side)
      .flatMap((life) => life.output.stdout.split("\n"))
      .flatMap((line) => {
        try {
          return [JSON.parse(line) as Record<string, unknown>];
        } catch {
          return []; // not a log line, or one still being written
        }
      });
  }

  #lives(side: Side): SystemProcess[] {
    const exited = this.#exited.filter((exited) => exited.side === side).map((exited) => exited.process);
    return exited.includes(this.#processes[side]) ? exited : [...exited, this.#processes[side]];
  }

  async #carry(side: Side): Promise<void> {
    const counters = await this.scrape(side).catch(() => zeroCounters());
    for (const name of Object.keys(counters) as (keyof MessageCounters)[]) this.#carried[side][name] += counters[name];
  }

  /** The counters of the live process of `side` only (since its last start). */
  async scrape(side: Side): Promise<MessageCounters> {
    const text = await (await fetch(`${this.urls[side]}/metrics`)).text();
    const counters = zeroCounters();
    for (const name of Object.keys(counterNames) as (keyof MessageCounters)[]) {
      for (const line of text.split("\n")) {
        if (line.startsWith(`${counterNames[name]}{`)) counters[name] += Number(line.slice(line.lastIndexOf(" ") + 1));
      }
    }
    return counters;
  }

  /** Stops both processes (SIGTERM), drops both databases and deletes every Redis key of the prefix. */
  async cleanup(): Promise<void> {
    for (const side of ["orders", "payments"] as const) {
      const process = this.#processes[side];
      if (process) {
        await process.stop();
        await process.cleanup();
      }
    }
    for (const { process } of this.#exited) await process.cleanup();
    for (const drop of this.#drops.splice(0)) await drop();
    await deleteRedisKeys(this.prefix, this.redisUrl);
  }
}

function zeroCounters(): MessageCounters {
  return { consumed: 0, duplicatesSkipped: 0, retries: 0, deadLettered: 0 };
}
