/**
 * The bench's command line: `--flag value` or `--flag=value`. Anything wrong (an unknown flag, a
 * bad value, a missing DATABASE_URL) is an `ArgumentError` whose message is one line.
 */

export const modes = ["mono", "split"] as const;
export const busKinds = ["memory", "redis", "kafka"] as const;
export const databaseKinds = ["pglite", "postgres"] as const;

/** Closed loop: C orders in flight at all times. Open loop: R orders/s offered, whatever the answers. */
export type Load = { kind: "closed"; concurrency: number } | { kind: "open"; rate: number };

/** Seconds into the send window at which `--payments-outage` stops the payments process. */
export const outageStartSeconds = 15;
/** `--timeout` when `--payments-outage` is given without one: the time allowed to settle after the restart. */
export const outageTimeoutSeconds = 60;

/**
 * What the run is for, beyond throughput and latency. `overload`: an offered rate past capacity,
 * where a 503 with Retry-After is an expected refusal. `soak`: a long run at a steady rate, watching
 * memory and latency minute by minute. `payments-outage`: the payments process stopped for a while
 * under load, then started again.
 */
export type Scenario =
  | { kind: "plain" }
  | { kind: "overload" }
  | { kind: "soak"; minutes: number }
  | { kind: "payments-outage"; startSeconds: number; seconds: number };

export interface BenchOptions {
  mode: (typeof modes)[number];
  bus: (typeof busKinds)[number];
  db: (typeof databaseKinds)[number];
  orders: number;
  load: Load;
  users: number;
  /** HTTP port of the (orders) process; split puts payments on port + 1. Undefined: pick free ports. */
  port: number | undefined;
  /** How long after the last send the bench waits for terminal statuses before counting the rest as stuck. */
  timeoutSeconds: number;
  /** Seconds of warm-up load on separate accounts before the measured run; 0: none. */
  warmupSeconds: number;
  /** PostgreSQL URL for `--db postgres` and `--reference`, from DATABASE_URL. */
  databaseUrl: string | undefined;
  /** Run the naive per-order SQL under pgbench first and report the system's figures as ratios to it. */
  reference: boolean;
  /** Directory for a Bun CPU profile of each Gozon process (`--cpu-prof`); undefined: none. */
  cpuProfileDir: string | undefined;
  scenario: Scenario;
}

export class ArgumentError extends Error {
  override name = "ArgumentError";
}

export const usage = `Usage: bun run bench [-- flags]

Starts Gozon as child processes, creates accounts, sends orders over HTTP, waits for each order's
terminal status on the WebSocket, then prints a summary and one JSON line.

  --mode mono|split          one process, or orders + payments as two (default mono)
  --bus memory|redis|kafka   default memory with mono, redis with split; redis uses REDIS_URL
                             (default redis://127.0.0.1:6379) under a fresh key prefix, deleted
                             afterwards; kafka uses KAFKA_BROKERS (default 127.0.0.1:9092)
  --db pglite|postgres       pglite: a fresh temporary directory (default); postgres: the database
                             in DATABASE_URL, used as given; the bench leaves its accounts, orders
                             and messages there, so point it at a scratch database
  --orders N                 orders to send (default 3000)
  --concurrency C            closed loop: C orders in flight (default 64)
  --rate R                   open loop instead: offer R orders/s whatever the response times
  --duration S               with --rate: send for S seconds (orders = R × S)
  --users U                  accounts, one WebSocket each (default 50); each can pay for 90% of
                             its orders, so about 10% fail for insufficient funds
  --port P                   HTTP port (split: payments on P + 1); default: free ports
  --timeout S                wait for terminal statuses up to S s after the last send (default 30)
  --warmup S                 warm the system up for S s first (default 0: none): the same load
                             (open loop: R × S orders at R/s; closed loop: C in flight for S s) on
                             min(U, 10) separate accounts funded for every order, waiting up to
                             --timeout for their terminal statuses; warm-up orders are excluded
                             from every figure, check and count; any warm-up error fails the run
  --reference                first run the naive per-order SQL (bench/pgbench/order.sql) under
                             pgbench, 16 clients, 15 s, in a scratch database it creates and
                             drops on the PostgreSQL of DATABASE_URL (needs pgbench and psql),
                             and report orders/s and CPU per order as ratios to it
  --cpu-prof DIR             run each Gozon process under Bun's CPU profiler and write its
                             profile to DIR when it stops (.cpuprofile for Chrome DevTools, and
                             a markdown summary)
  --help                     this text

Scenarios (at most one; each needs --rate):
  --overload                 the rate is meant to be past capacity: a 503 with Retry-After is a
                             refusal, expected and not an error (any other non-201, a 503 without
                             Retry-After, a dropped connection still is). Reports accepted and
                             refused per second over the send window and their answer times,
                             /health/live (probed every 100 ms on a fresh connection, 3 s timeout)
                             during the load, the peak RSS of each Gozon process, and whether every
                             accepted order settled (/health/live from a process of its own).
                             Orders always go out on at most 16,384 kept connections; past that
                             they wait in the client, and the wait counts in their answer time
  --soak MINUTES             send at --rate for MINUTES (orders = R × 60 × MINUTES; no --duration
                             or --orders): RSS of each Gozon process every 10 s, its growth and
                             slope (MiB/min, least squares, given a minute of samples) after
                             minute 1, and the accepted p99 of each minute
  --payments-outage S        with --mode split: ${outageStartSeconds} s into the send window, stop the payments
                             process (SIGTERM), keep sending, start it again after S s on the same
                             port and settings; reports the orders accepted, refused and failed
                             during the outage, the orders process's RSS before, during and after,
                             and the time from the restart until every accepted order is terminal
                             (--timeout defaults to ${outageTimeoutSeconds} s here, counted from the restart or the
                             last send, whichever is later); the send window must last at least
                             ${outageStartSeconds} + S s

The system gets its own settings only, plus any OTEL_*, *_RETENTION, REDIS_PARTITION_LEASE,
ORDER_INTAKE_* (window and queue bounds), REQUEST_MAX_* and MIMALLOC_* variables set for the bench
(to compare a run with tracing on, short retention windows, another intake window or other queue
bounds). Every run reports the CPU time per order over the measured window (warm-up excluded): the whole
machine's from /proc/stat, and split per process (Gozon, PostgreSQL, Redis, the bench client).`;

const flags = ["mode", "bus", "db", "orders", "concurrency", "rate", "duration", "users", "port", "timeout", "warmup", "reference", "cpu-prof", "overload", "soak", "payments-outage"] as const;
/** Flags that take no value. */
const switches: ReadonlySet<Flag> = new Set(["reference", "overload"]);
type Flag = (typeof flags)[number];

/** Parses argv (without the runtime and script); returns undefined when help was asked for. */
export function parseArguments(argv: string[], env: Record<string, string | undefined>): BenchOptions | undefined {
  const given = new Map<Flag, string>();
  for (let index = 0; index < argv.length; index++) {
    const argument = argv[index]!;
    if (argument === "--help" || argument === "-h") return undefined;
    const match = /^--([a-z-]+)(?:=(.*))?$/.exec(argument);
    const name = match?.[1] as Flag | undefined;
    if (!name || !flags.includes(name)) throw new ArgumentError(`unknown argument ${JSON.stringify(argument)} (see --help)`);
    if (switches.has(name)) {
      if (match?.[2] !== undefined) throw new ArgumentError(`--${name} takes no value`);
      if (given.has(name)) throw new ArgumentError(`--${name} given twice`);
      given.set(name, "true");
      continue;
    }
    const value = match?.[2] ?? argv[++index];
    if (value === undefined || value === "") throw new ArgumentError(`--${name} needs a value`);
    if (given.has(name)) throw new ArgumentError(`--${name} given twice`);
    given.set(name, value);
  }

  const mode = oneOf(given, "mode", modes, "mono");
  const bus = oneOf(given, "bus", busKinds, mode === "mono" ? "memory" : "redis");
  if (mode === "split" && bus === "memory") throw new ArgumentError("--bus memory needs --mode mono (two processes cannot share an in-memory bus)");
  const db = oneOf(given, "db", databaseKinds, "pglite");
  const databaseUrl = env.DATABASE_URL?.trim() || undefined;
  if (db === "postgres" && !databaseUrl) throw new ArgumentError("--db postgres needs DATABASE_URL (a scratch database: the bench writes rows there)");
  const reference = given.has("reference");
  if (reference && !databaseUrl) throw new ArgumentError("--reference needs DATABASE_URL (the PostgreSQL server to run pgbench against)");

  if (given.has("rate") && given.has("concurrency")) throw new ArgumentError("give --concurrency (closed loop) or --rate (open loop), not both");
  if (given.has("duration") && !given.has("rate")) throw new ArgumentError("--duration needs --rate");
  if (given.has("duration") && given.has("orders")) throw new ArgumentError("with --rate, give --orders or --duration, not both");
  const scenarioFlags = (["overload", "soak", "payments-outage"] as const).filter((name) => given.has(name));
  if (scenarioFlags.length > 1) throw new ArgumentError(`give one of --overload, --soak, --payments-outage, not ${scenarioFlags.map((name) => `--${name}`).join(" and ")}`);
  if (scenarioFlags[0] && !given.has("rate")) throw new ArgumentError(`--${scenarioFlags[0]} needs --rate`);
  if (given.has("soak") && (given.has("duration") || given.has("orders"))) throw new ArgumentError("--soak sets the run's length: give no --duration or --orders");
  if (given.has("payments-outage") && mode !== "split") throw new ArgumentError("--payments-outage needs --mode split (payments is stopped while orders keeps running)");
  let orders = integer(given, "orders", 3000, 1);
  let load: Load;
  if (given.has("rate")) {
    const rate = number(given, "rate", 0);
    load = { kind: "open", rate };
    if (given.has("duration")) orders = Math.max(1, Math.round(rate * number(given, "duration", 0)));
  } else {
    load = { kind: "closed", concurrency: integer(given, "concurrency", 64, 1) };
  }
  const scenario = parseScenario(given, orders, load);
  if (scenario.kind === "soak" && load.kind === "open") orders = Math.max(1, Math.round(load.rate * 60 * scenario.minutes));
  const users = integer(given, "users", 50, 1);
  const port = given.has("port") ? integer(given, "port", 0, 1, mode === "split" ? 65_534 : 65_535) : undefined;
  const timeoutSeconds = number(given, "timeout", 0, scenario.kind === "payments-outage" ? outageTimeoutSeconds : 30);
  const warmupSeconds = seconds(given, "warmup", 0);
  const cpuProfileDir = given.get("cpu-prof");
  return { mode, bus, db, orders, load, users, port, timeoutSeconds, warmupSeconds, databaseUrl, reference, cpuProfileDir, scenario };
}

function parseScenario(given: Map<Flag, string>, orders: number, load: Load): Scenario {
  if (given.has("overload")) return { kind: "overload" };
  if (given.has("soak")) return { kind: "soak", minutes: number(given, "soak", 0) };
  if (!given.has("payments-outage") || load.kind !== "open") return { kind: "plain" };
  const outage = number(given, "payments-outage", 0);
  const windowSeconds = orders / load.rate;
  if (windowSeconds < outageStartSeconds + outage) {
    throw new ArgumentError(
      `--payments-outage ${outage}: the send window (${Number(windowSeconds.toFixed(1))} s) must last at least ${outageStartSeconds} + ${outage} s, so that orders are sent all through the outage`,
    );
  }
  return { kind: "payments-outage", startSeconds: outageStartSeconds, seconds: outage };
}

function oneOf<const T extends readonly string[]>(given: Map<Flag, string>, name: Flag, values: T, fallback: T[number]): T[number] {
  const value = given.get(name) ?? fallback;
  if (!values.includes(value)) throw new ArgumentError(`--${name} ${JSON.stringify(value)}: expected one of ${values.join(", ")}`);
  return value;
}

function integer(given: Map<Flag, string>, name: Flag, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const text = given.get(name);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) throw new ArgumentError(`--${name} ${JSON.stringify(text)}: expected an integer from ${min} to ${max}`);
  return value;
}

/** A positive number (greater than `exclusiveMin`). */
function number(given: Map<Flag, string>, name: Flag, exclusiveMin: number, fallback = Number.NaN): number {
  const text = given.get(name);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= exclusiveMin) throw new ArgumentError(`--${name} ${JSON.stringify(text)}: expected a number > ${exclusiveMin}`);
  return value;
}

/** A number ≥ 0 written in decimals ("2", "0.5"); not "-1", "abc", "1e3" or "Infinity". */
function seconds(given: Map<Flag, string>, name: Flag, fallback: number): number {
  const text = given.get(name);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || !Number.isFinite(value)) throw new ArgumentError(`--${name} ${JSON.stringify(text)}: expected a number of seconds ≥ 0`);
  return value;
}
