import { afterAll, beforeAll, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import Redis from "ioredis";
import { sql, type Kysely } from "kysely";
import { RedisBus } from "../../shared/bus/redis-streams/redis-bus";
import { newEnvelope, orderCreatedTopic, paymentProcessedTopic } from "../../shared/contracts";
import { eventually } from "../../shared/testing/eventually";
import { BusStreams } from "../support/bus-streams";
import { checkInvariants, openModuleDatabases, pendingOrders, type ModuleDatabases } from "../support/invariants";
import { SplitSystem } from "../support/split-system";
import { json, openAccount, placeOrder } from "../support/walkthrough";
import { testRedisUrl } from "../../shared/testing/redis";

/**
 * Retention on the real thing, with windows of seconds: processed rows go after their
 * windows, unpublished outbox rows and pending dead letters stay, and every message replayed
 * after the windows changes no balance, ledger row or status (the inbox has forgotten them; the
 * unique debit, the recorded decline and forward-only statuses still hold).
 */
const window = "3s";
const cleanups: (() => Promise<unknown>)[] = [];
let system: SplitSystem;
let databases: ModuleDatabases;
let observer: RedisBus;
let streams: BusStreams;
/** Every message on the two topics, as an extra consumer group saw it: what a replay sends again. */
const seen: Record<string, { key: string; value: string }[]> = { [orderCreatedTopic]: [], [paymentProcessedTopic]: [] };

beforeAll(async () => {
  system = await SplitSystem.start(testRedisUrl, {
    INBOX_RETENTION: window,
    IDEMPOTENCY_KEY_RETENTION: window,
    OUTBOX_RETENTION: window,
    DEAD_LETTER_RETENTION: window,
  });
  cleanups.push(() => system.cleanup());
  databases = await openModuleDatabases(system.databaseUrls);
  cleanups.push(() => databases.close());
  observer = new RedisBus({ url: testRedisUrl, prefix: system.prefix });
  cleanups.push(() => observer.close());
  for (const topic of [orderCreatedTopic, paymentProcessedTopic]) {
    await observer.subscribe(topic, "retention-test", async (message) => void seen[topic]!.push({ key: message.key, value: message.value }));
  }
  const redis = new Redis(testRedisUrl, { maxRetriesPerRequest: 1 });
  redis.on("error", () => {});
  cleanups.push(async () => redis.disconnect());
  streams = new BusStreams(redis, system.prefix);
}, 60_000);

afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch((error) => console.error("cleanup failed:", error));
}, 60_000);

const count = async (db: Kysely<any>, query: ReturnType<typeof sql>) => ((await query.execute(db)).rows[0] as { count: number }).count;

/** Everything a replay must leave as it was. */
async function businessState() {
  const rows = async (db: Kysely<any>, query: ReturnType<typeof sql>) => (await query.execute(db)).rows;
  return {
    orders: await rows(databases.orders, sql`select id, status, failure_reason, updated_at from orders.orders order by seq`),
    accounts: await rows(databases.payments, sql`select user_id, balance from payments.accounts order by user_id`),
    ledger: await rows(databases.payments, sql`select * from payments.ledger order by id`),
    declined: await rows(databases.payments, sql`select * from payments.declined_orders order by order_id`),
  };
}

async function deletedRows(side: "orders" | "payments", table: string): Promise<number> {
  const text = await (await fetch(`${system.urls[side]}/metrics`)).text();
  const line = text.split("\n").find((row) => row.startsWith(`gozon_retention_deleted_rows_total{module="${side}",table="${table}"}`));
  return Number(line?.split(" ").at(-1) ?? 0);
}

test("rows go after their windows, unpublished rows and pending dead letters stay, and a replay after the windows changes nothing", async () => {
  const { payments: paymentsUrl, orders: ordersUrl } = system.urls;
  // The payments relay stands by while the test holds its lock: an unpublished row stays unpublished.
  await databases.payments.connection().execute(async (relayLock) => {
    await sql`select pg_advisory_lock(hashtext('gozon.outbox.payments'))`.execute(relayLock);
    try {
      await sql`insert into payments.outbox (message_id, topic, key, value, created_at)
        values (${randomUUID()}::uuid, 'retention-test', 'k', '{}', now() - interval '1 hour')`.execute(databases.payments);

      // The flow: a paid order, a declined one, Idempotency-Keys on both sides.
      const rich = await openAccount(paymentsUrl, 100, { "idempotency-key": `deposit-${randomUUID()}` });
      const poor = await openAccount(paymentsUrl, 10);
      const paid = await placeOrder(ordersUrl, rich, 30, { "idempotency-key": `order-${randomUUID()}` });
      const declined = await placeOrder(ordersUrl, poor, 50);
      // Two dead letters: one stays pending, one is discarded.
      const poison = () => {
        const userId = randomUUID();
        return JSON.stringify(newEnvelope(orderCreatedTopic, userId, { orderId: randomUUID(), userId, amount: -1, description: "poison" }));
      };
      const [keptPoison, discardedPoison] = [poison(), poison()];
      await streams.republish(orderCreatedTopic, [keptPoison, discardedPoison].map((value) => ({ key: JSON.parse(value).key, value })));
      const idOf = (value: string) => (JSON.parse(value) as { id: string }).id;
      await eventually(async () => (await fetch(`${paymentsUrl}/api/admin/dead-letters/${idOf(discardedPoison)}`)).status === 200, 20_000, "the dead letters recorded");
      expect((await fetch(`${paymentsUrl}/api/admin/dead-letters/${idOf(discardedPoison)}/discard`, { method: "POST" })).status).toBe(200);
      await eventually(async () => (await pendingOrders(databases)) === 0, 20_000, "both orders terminal");
      await eventually(() => seen[paymentProcessedTopic]!.length >= 2, 20_000, "the observer to see both results");
      const before = await businessState();
      expect(before.orders.map((order) => (order as { status: string }).status).sort()).toEqual(["PaymentCompleted", "PaymentFailed"]);

      // The poor account could pay the declined order now: a replay must still not pay it.
      const topUp = await fetch(`${paymentsUrl}/api/accounts/${poor}/deposit`, json({ amount: 100 }));
      expect(topUp.status).toBe(200);
      const afterTopUp = await businessState();

      // The windows pass.
      await eventually(
        async () =>
          (await count(databases.payments, sql`select count(*)::int as count from payments.inbox`)) === 0 &&
          (await count(databases.orders, sql`select count(*)::int as count from orders.inbox`)) === 0 &&
          (await count(databases.payments, sql`select count(*)::int as count from payments.idempotency_keys`)) === 0 &&
          (await count(databases.orders, sql`select count(*)::int as count from orders.idempotency_keys`)) === 0 &&
          (await count(databases.orders, sql`select count(*)::int as count from orders.outbox`)) === 0 &&
          (await count(databases.payments, sql`select count(*)::int as count from payments.outbox where published_at is not null`)) === 0 &&
          (await count(databases.payments, sql`select count(*)::int as count from payments.dead_letters where state = 'discarded'`)) === 0,
        30_000,
        "inbox rows, idempotency keys, published outbox rows and the discarded dead letter to go",
      );
      // What must never go: the unpublished row, the pending dead letter.
      expect(await count(databases.payments, sql`select count(*)::int as count from payments.outbox where published_at is null and topic = 'retention-test'`)).toBe(1);
      expect(await count(databases.payments, sql`select count(*)::int as count from payments.dead_letters where id = ${idOf(keptPoison)}::uuid and state = 'pending'`)).toBe(1);
      expect(await deletedRows("payments", "inbox")).toBeGreaterThanOrEqual(2);
      expect(await deletedRows("orders", "outbox")).toBeGreaterThanOrEqual(2);
      expect(await businessState()).toEqual(afterTopUp);

      // Replay everything ever published on both topics: the inbox no longer knows any of it.
      const replay = { created: seen[orderCreatedTopic]!.filter((message) => message.value !== keptPoison && message.value !== discardedPoison), processed: [...seen[paymentProcessedTopic]!] };
      const [paymentsBefore, ordersBefore] = [await system.counters("payments"), await system.counters("orders")];
      await streams.republish(orderCreatedTopic, replay.created);
      await streams.republish(paymentProcessedTopic, replay.processed);
      // Payments answers each replayed order again; Orders consumes those answers too.
      await eventually(async () => {
        const [payments, orders] = [await system.counters("payments"), await system.counters("orders")];
        return payments.consumed - paymentsBefore.consumed >= replay.created.length && orders.consumed - ordersBefore.consumed >= replay.processed.length + replay.created.length;
      }, 30_000, "the replayed messages and their answers to be consumed");
      await eventually(async () => (await streams.inFlight()) === 0, 20_000, "nothing left in flight");
      expect(replay.created.length).toBeGreaterThanOrEqual(2);
      expect(replay.processed.length).toBeGreaterThanOrEqual(2);
      expect(await businessState()).toEqual(afterTopUp);
      const report = await checkInvariants(databases, [paid.id, declined.id]);
      expect(report.violations).toEqual([]);

      // An Idempotency-Key reused after its window is a new request.
      const key = `late-${randomUUID()}`;
      expect((await fetch(`${paymentsUrl}/api/accounts/${rich}/deposit`, json({ amount: 1 }, { "idempotency-key": key }))).status).toBe(200);
      await eventually(async () => (await count(databases.payments, sql`select count(*)::int as count from payments.idempotency_keys where key = ${key}`)) === 0, 20_000, "the key to expire");
      const again = await fetch(`${paymentsUrl}/api/accounts/${rich}/deposit`, json({ amount: 1 }, { "idempotency-key": key }));
      expect(again.headers.get("idempotent-replayed")).toBeNull();
      expect(((await again.json()) as { balance: number }).balance).toBe(72);
    } finally {
      await sql`delete from payments.outbox where topic = 'retention-test'`.execute(databases.payments);
      await sql`select pg_advisory_unlock(hashtext('gozon.outbox.payments'))`.execute(relayLock);
    }
  });
}, 150_000);
