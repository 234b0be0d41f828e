import Redis from "ioredis";
import { eventually } from "../../shared/testing/eventually";
import { BusStreams } from "./bus-streams";
import { openModuleDatabases, pendingOrders, unpublishedOutboxRows, type ModuleDatabases } from "./invariants";
import { SplitSystem } from "./split-system";

/** A running split system with what the checks need: its databases and its streams. */
export interface Harness {
  system: SplitSystem;
  databases: ModuleDatabases;
  streams: BusStreams;
}

/** Starts a split system on `busUrl`; `defer` receives what undoes each step (run in reverse). */
export async function startHarness(busUrl: string, defer: (cleanup: () => Promise<unknown>) => void): Promise<Harness> {
  const system = await SplitSystem.start(busUrl);
  defer(() => system.cleanup());
  const databases = await openModuleDatabases(system.databaseUrls);
  defer(() => databases.close());
  const redis = new Redis(busUrl, { maxRetriesPerRequest: 1 });
  redis.on("error", () => {});
  defer(async () => redis.disconnect());
  return { system, databases, streams: new BusStreams(redis, system.prefix) };
}

/** Waits until every order is settled, both outboxes are published and no message is in flight. */
export async function settle({ system, databases, streams }: Harness, timeoutMs: number, what: string): Promise<void> {
  try {
    await eventually(
      async () => (await pendingOrders(databases)) === 0 && (await unpublishedOutboxRows(databases)) === 0 && (await streams.inFlight()) === 0,
      timeoutMs,
      what,
    );
  } catch (error) {
    const state = `pending orders ${await pendingOrders(databases)}, unpublished ${await unpublishedOutboxRows(databases)}, in flight ${await streams.inFlight()}`;
    throw new Error(`${String(error)}\n${state}\n--- orders ---\n${system.output("orders")}\n--- payments ---\n${system.output("payments")}`);
  }
}
