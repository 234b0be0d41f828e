/**
 * Bun's fetch keeps at most BUN_CONFIG_MAX_HTTP_REQUESTS requests in flight per process (256 when
 * unset) and queues the rest inside the client, where their wait is measured as part of the
 * answer time. The variable is read once, when the process starts; `bun run bench` sets it
 * (package.json). `simultaneousFetches` checks what this process can really do.
 *
 * Run directly (`bun scripts/bench/fetch-limit.ts N`), it prints that count for N requests.
 */
import { readFileSync } from "node:fs";

/**
 * The value package.json's bench script gives BUN_CONFIG_MAX_HTTP_REQUESTS: the orders in flight
 * at most, each on a connection of its own, kept open and reused (`orderConnections`), as a load
 * balancer keeps a pool of connections to its backends. Enough for three times this machine's
 * capacity answered within a second; a request past it waits in the client, and that wait counts
 * in its answer time. Not Bun's maximum (65,535): a client that opens a connection for every
 * request it cannot place spends more on connecting than the server does on answering, and past
 * the process's open-file limit its requests fail (EMFILE).
 */
export const benchFetchLimit = 4_096;
/**
 * The most simultaneous requests the bench checks for before an overload run (one second of the
 * offered rate, up to this): enough to tell an uncapped client from a capped one without holding
 * a large share of the process's file descriptors.
 */
export const maxFetchCheck = 8_192;

/** The soft limit on open files from /proc/<pid>/limits ("unlimited": Infinity); undefined when unreadable. */
export function parseOpenFileLimit(limits: string): number | undefined {
  const match = /^Max open files\s+(\d+|unlimited)\s/m.exec(limits);
  if (!match) return undefined;
  return match[1] === "unlimited" ? Number.POSITIVE_INFINITY : Number(match[1]);
}

/**
 * This process's limit on open files: each request in flight holds a socket, so past it a request
 * fails at once (EMFILE) in the client, whatever the server would have answered.
 */
export function openFileLimit(): number | undefined {
  try {
    return parseOpenFileLimit(readFileSync("/proc/self/limits", "utf8"));
  } catch {
    return undefined;
  }
}

/**
 * Sends `count` requests at once to a local server that holds each one until all have arrived (or
 * `waitMs` passed), and returns how many arrived: `count` when the client does not cap them below
 * it, the cap when it does.
 */
export async function simultaneousFetches(count: number, waitMs = 5_000): Promise<number> {
  let arrived = 0;
  const { promise: allArrived, resolve: everyOneArrived } = Promise.withResolvers<void>();
  const { promise: released, resolve: release } = Promise.withResolvers<void>();
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch() {
      if (++arrived === count) everyOneArrived();
      await released;
      return new Response("ok");
    },
  });
  try {
    const url = `http://127.0.0.1:${server.port}/`;
    const requests = Array.from({ length: count }, () => fetch(url).then((response) => response.arrayBuffer(), () => undefined));
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([allArrived, new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs)))]);
    clearTimeout(timer);
    const seen = arrived;
    release();
    await Promise.all(requests);
    return seen;
  } finally {
    release();
    await server.stop(true);
  }
}

if (import.meta.main) {
  const count = Number(process.argv[2] ?? 1000);
  console.log(await simultaneousFetches(count, Number(process.argv[3] ?? 5_000)));
}
