import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import fc from "fast-check";
import { sql, type RawBuilder } from "kysely";
import { allModules } from "../support/all-modules";
import { createBus, deadLetterTopic, type Bus, type Delivery } from "../../shared/bus";
import { loadConfig } from "../../shared/config";
import { maxEnvelopeBytes, newEnvelope, orderCreatedTopic, paymentProcessedTopic, refundProcessedTopic, refundRequestedTopic } from "../../shared/contracts";
import { createDatabase, type Database } from "../../shared/db";
import { createLogger } from "../../shared/logger";
import { startServer, type RunningServer } from "../../shared/server";
import { eventually } from "../../shared/testing/eventually";
import { createTestDatabase } from "../../shared/testing/postgres";
import { deleteRedisKeys, testRedisUrl, testRedisPrefix } from "../../shared/testing/redis";
import { openAccount } from "../support/walkthrough";

/**
 * Poison on the bus: malformed and oversized messages of every consumed topic
 * (`order-created`, `payment-processed`, `refund-requested`, `refund-processed`), published straight onto the topics of a running mono system (Redis Streams bus, fresh
 * PostgreSQL database), each keyed like the valid messages behind it. Every bad one must land in
 * `<topic>.dlq` once, nothing may be written for it, and the valid ones behind it (same key, so
 * same partition, in order) must still be applied.
 */
const prefix = testRedisPrefix();
/** Generated bad messages per topic, besides the fixed cases. */
const generated = 40;

let server: RunningServer;
let baseUrl: string;
let drop: () => Promise<void>;
let direct: Database<any>;
let bus: Bus;
const deadLetters: Delivery[] = [];
const logLines: string[] = [];

beforeAll(async () => {
  const database = await createTestDatabase();
  drop = database.drop;
  const config = loadConfig({ PORT: "0", DATABASE_URL: database.url, BUS: "redis", REDIS_URL: testRedisUrl, REDIS_PREFIX: prefix }, allModules);
  // Each dead letter is logged as an error; kept here rather than printed.
  const logger = createLogger({ level: "warn", write: (line) => void logLines.push(line) });
  server = await startServer(config, allModules, { logger });
  baseUrl = `http://127.0.0.1:${server.port}`;
  direct = await createDatabase<any>({ url: database.url, dataDir: "", maxConnections: 2 });
  // The test's own member of the system's bus: it publishes the poison and watches the dead letters.
  bus = await createBus({ kind: "redis", url: testRedisUrl, prefix });
  for (const topic of [orderCreatedTopic, paymentProcessedTopic, refundRequestedTopic, refundProcessedTopic]) {
    await bus.subscribe(deadLetterTopic(topic), "bad-messages-test", async (message) => void deadLetters.push(message));
  }
}, 60_000);

afterAll(async () => {
  await bus?.close();
  await server?.stop();
  await direct?.close();
  await drop?.();
  await deleteRedisKeys(prefix, testRedisUrl);
}, 30_000);

interface BadMessage {
  what: string;
  value: string;
}

const looseUuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const badUuid = fc.oneof(fc.string({ maxLength: 40 }).filter((text) => !looseUuid.test(text)), fc.integer(), fc.constant(null));
const notAString = fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 2 }), fc.object({ maxDepth: 1 }));
const notJson = fc.string({ minLength: 1, maxLength: 200 }).filter((text) => {
  try {
    JSON.parse(text);
    return false;
  } catch {
    return true;
  }
});

/** Envelope-level faults every topic shares: each arbitrary maps a valid envelope to a broken one. */
function envelopeFaults(topic: string): fc.Arbitrary<(envelope: Record<string, unknown>) => unknown>[] {
  const set = (field: string) => (value: unknown) => (envelope: Record<string, unknown>) => ({ ...envelope, [field]: value });
  const without = (field: string) => (envelope: Record<string, unknown>) => Object.fromEntries(Object.entries(envelope).filter(([key]) => key !== field));
  return [
    badUuid.map(set("id")),
    fc.oneof(fc.string({ maxLength: 30 }).filter((type) => type !== topic), fc.constantFrom("order-cancelled", topic === orderCreatedTopic ? paymentProcessedTopic : orderCreatedTopic), notAString).map(set("type")),
    fc.oneof(fc.integer().filter((version) => version !== 1), fc.constantFrom("1", 1.5, null)).map(set("version")),
    fc.oneof(fc.string({ maxLength: 20 }).filter((text) => !/^\d{4}-\d\d-\d\dT/.test(text)), fc.integer()).map(set("occurredAt")),
    fc.oneof(fc.constant(""), fc.integer({ min: 201, max: 400 }).map((length) => "k".repeat(length)), notAString).map(set("key")),
    fc.oneof(fc.constant(null), fc.string({ maxLength: 10 }), fc.array(fc.integer(), { maxLength: 2 })).map(set("payload")),
    fc.constantFrom("id", "type", "key", "occurredAt", "version", "payload").map(without),
    fc.jsonValue({ maxDepth: 2 }).filter((value) => typeof value !== "object" || value === null || Array.isArray(value)).map((value) => () => value),
  ];
}

/** Payload-level faults: each maps a valid payload to a broken one. */
function payloadFaults(fields: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<(envelope: Record<string, unknown>) => unknown>[] {
  return Object.entries(fields).map(([field, bad]) =>
    bad.map((value) => (envelope: Record<string, unknown>) => ({ ...envelope, payload: { ...(envelope.payload as object), [field]: value } })),
  );
}

/** Fixed cases, then `generated` random faults; each a fresh message id so nothing can pass as a duplicate. */
function badMessages(topic: string, validEnvelope: () => Record<string, unknown>, payloadFaultArbitraries: fc.Arbitrary<(envelope: Record<string, unknown>) => unknown>[]): BadMessage[] {
  const fixed: BadMessage[] = [
    { what: "not JSON", value: "{not json" },
    { what: "empty", value: "" },
    { what: "unknown type", value: JSON.stringify({ ...validEnvelope(), type: "order-shipped" }) },
    { what: "1 MB of extra field (otherwise valid)", value: JSON.stringify({ ...validEnvelope(), padding: "x".repeat(1024 * 1024) }) },
    { what: "just over the size limit (otherwise valid)", value: padTo(validEnvelope(), maxEnvelopeBytes + 1) },
  ];
  const faults = fc.oneof(...envelopeFaults(topic), ...payloadFaultArbitraries);
  const random = fc
    .sample(fc.oneof(faults.map((fault) => JSON.stringify(fault(validEnvelope())) ?? "undefined"), notJson), { numRuns: generated, seed: 20261124 })
    .map((value) => ({ what: "generated", value }));
  return [...fixed, ...random];
}

/** A JSON envelope with a padding member that makes it exactly `bytes` long. */
function padTo(envelope: Record<string, unknown>, bytes: number): string {
  const head = JSON.stringify({ ...envelope, padding: "" });
  return `${head.slice(0, -2)}${"p".repeat(bytes - Buffer.byteLength(head))}"}`;
}

/** Publishes bad and valid messages interleaved, all with the same key: the valid ones sit behind poison. */
async function publishInterleaved(topic: string, key: string, bad: BadMessage[], valid: string[]): Promise<void> {
  const perGap = Math.ceil(bad.length / valid.length);
  const messages: string[] = [];
  for (let index = 0; index < valid.length; index++) messages.push(...bad.slice(index * perGap, (index + 1) * perGap).map((message) => message.value), valid[index]!);
  for (const value of messages) await bus.publish(topic, [{ key, value }]);
}

async function count(query: RawBuilder<unknown>): Promise<number> {
  return ((await query.execute(direct.kysely)).rows[0] as { count: number }).count;
}

/** Dead letters of `topic` so far, by value. */
const deadLettersOf = (topic: string) => deadLetters.filter((message) => message.headers["x-original-topic"] === topic).map((message) => message.value);

/** The bad messages' ids that were valid UUIDs (a bad message may carry one): none may reach an inbox. */
const idsOf = (bad: BadMessage[]) =>
  bad.flatMap((message) => {
    try {
      const id = (JSON.parse(message.value) as { id?: unknown }).id;
      return typeof id === "string" && looseUuid.test(id) ? [id.toLowerCase()] : [];
    } catch {
      return [];
    }
  });

async function deadLetteredCount(topic: string, group: string): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const line = text.split("\n").find((row) => row.startsWith(`gozon_messages_dead_lettered_total{`) && row.includes(`topic="${topic}"`) && row.includes(`group="${group}"`));
  return line ? Number(line.split(" ").at(-1)) : 0;
}

describe("poison on the bus is dead-lettered, and the messages behind it still flow", () => {
  test("order-created: every bad message goes to order-created.dlq, nothing is debited for it, the valid orders behind it are paid", async () => {
    const userId = await openAccount(baseUrl, 10); // 1 000 minor units
    const validEnvelope = () => newEnvelope(orderCreatedTopic, userId, { orderId: randomUUID(), userId, amount: 100, description: "valid" }) as unknown as Record<string, unknown>;
    const bad = badMessages(orderCreatedTopic, validEnvelope, payloadFaults({
      orderId: badUuid,
      userId: badUuid,
      amount: fc.oneof(fc.integer({ max: 0 }), fc.double({ noNaN: true }).filter((value) => !Number.isInteger(value)), fc.constantFrom(2 ** 53, "100", null)),
      description: fc.oneof(fc.integer({ min: 1_001, max: 3_000 }).map((length) => "d".repeat(length)), notAString),
    }));
    const valid = [validEnvelope(), validEnvelope(), validEnvelope()];
    const ledgerBefore = await count(sql`select count(*)::int as count from payments.ledger`);

    await publishInterleaved(orderCreatedTopic, userId, bad, valid.map((envelope) => JSON.stringify(envelope)));

    const validOrderIds = valid.map((envelope) => (envelope.payload as { orderId: string }).orderId);
    await eventually(
      async () => (await count(sql`select count(*)::int as count from payments.ledger where order_id = any(${validOrderIds}::uuid[])`)) === 3,
      20_000,
      "the three valid orders behind the poison to be debited",
    );
    await eventually(() => deadLettersOf(orderCreatedTopic).length >= bad.length, 20_000, `${bad.length} dead letters on ${deadLetterTopic(orderCreatedTopic)}`);

    expect(deadLettersOf(orderCreatedTopic).sort()).toEqual(bad.map((message) => message.value).sort());
    expect(await deadLetteredCount(orderCreatedTopic, "payments")).toBe(bad.length);
    // Exactly the three debits, the three inbox rows and the three results: nothing for the poison.
    expect(await count(sql`select count(*)::int as count from payments.ledger`)).toBe(ledgerBefore + 3);
    const inbox = (await sql<{ message_id: string }>`select message_id from payments.inbox`.execute(direct.kysely)).rows.map((row) => row.message_id);
    expect(inbox.sort()).toEqual(valid.map((envelope) => envelope.id as string).sort());
    expect(idsOf(bad).filter((id) => inbox.includes(id))).toEqual([]);
    expect(await count(sql`select count(*)::int as count from payments.outbox`)).toBe(3);
    const balance = (await (await fetch(`${baseUrl}/api/accounts/${userId}`)).json()) as { balance: number };
    expect(balance.balance).toBe(7);
    // Orders hears the three results too (for orders it never placed): let that settle before the next test.
    await eventually(async () => (await count(sql`select count(*)::int as count from orders.inbox`)) === 3, 20_000, "Orders to consume the three results");
    console.log(`order-created: ${bad.length} bad messages dead-lettered, 3 valid ones behind them paid`);
  }, 60_000);

  test("payment-processed: every bad message goes to payment-processed.dlq, no order moves for it, the valid results behind it are applied", async () => {
    const userId = randomUUID();
    // Orders awaiting their payment, as the relay leaves them (written straight to the table: the
    // results below come from this test, not from Payments).
    const orderIds = [randomUUID(), randomUUID(), randomUUID()];
    for (const id of orderIds) {
      await sql`insert into orders.orders (id, user_id, amount, description, status) values (${id}, ${userId}, 100, 'awaiting', 'PaymentPending')`.execute(direct.kysely);
    }
    const result = (orderId: string, outcome: "completed" | "failed") =>
      newEnvelope(paymentProcessedTopic, userId, outcome === "completed" ? { orderId, userId, status: outcome, balance: 900 } : { orderId, userId, status: outcome, reason: "insufficient_funds" }) as unknown as Record<string, unknown>;
    const bad = badMessages(paymentProcessedTopic, () => result(orderIds[0]!, "completed"), payloadFaults({
      orderId: badUuid,
      userId: badUuid,
      status: fc.oneof(fc.string({ maxLength: 12 }).filter((status) => status !== "completed" && status !== "failed"), notAString),
      reason: fc.oneof(fc.string({ maxLength: 20 }).filter((reason) => reason !== "insufficient_funds" && reason !== "account_not_found"), fc.integer()),
      balance: fc.oneof(fc.integer({ max: -1 }), fc.double({ noNaN: true }).filter((value) => !Number.isInteger(value)), fc.constantFrom("900", true)),
    }));
    const valid = [result(orderIds[0]!, "completed"), result(orderIds[1]!, "failed"), result(orderIds[2]!, "completed")];
    const updatesBefore = await count(sql`select count(*)::int as count from orders.outbox where topic = 'orders.order-updated'`);
    const inboxBefore = (await sql<{ message_id: string }>`select message_id from orders.inbox`.execute(direct.kysely)).rows.map((row) => row.message_id);

    await publishInterleaved(paymentProcessedTopic, userId, bad, valid.map((envelope) => JSON.stringify(envelope)));

    const statuses = async () =>
      (await sql<{ id: string; status: string; failure_reason: string | null }>`select id, status, failure_reason from orders.orders where id = any(${orderIds}::uuid[])`.execute(direct.kysely)).rows;
    await eventually(async () => (await statuses()).every((order) => order.status !== "PaymentPending"), 20_000, "the valid results behind the poison to be applied");
    await eventually(() => deadLettersOf(paymentProcessedTopic).length >= bad.length, 20_000, `${bad.length} dead letters on ${deadLetterTopic(paymentProcessedTopic)}`);

    const byId = new Map((await statuses()).map((order) => [order.id, order]));
    expect(orderIds.map((id) => byId.get(id)?.status)).toEqual(["PaymentCompleted", "PaymentFailed", "PaymentCompleted"]);
    expect(byId.get(orderIds[1]!)?.failure_reason).toBe("insufficient_funds");
    expect(deadLettersOf(paymentProcessedTopic).sort()).toEqual(bad.map((message) => message.value).sort());
    expect(await deadLetteredCount(paymentProcessedTopic, "orders")).toBe(bad.length);
    const inbox = (await sql<{ message_id: string }>`select message_id from orders.inbox`.execute(direct.kysely)).rows.map((row) => row.message_id);
    expect(inbox.filter((id) => !inboxBefore.includes(id)).sort()).toEqual(valid.map((envelope) => envelope.id as string).sort());
    expect(idsOf(bad).filter((id) => inbox.includes(id))).toEqual([]);
    // One live update per order that moved, none for the poison.
    expect(await count(sql`select count(*)::int as count from orders.outbox where topic = 'orders.order-updated'`)).toBe(updatesBefore + 3);
    console.log(`payment-processed: ${bad.length} bad messages dead-lettered, 3 valid results behind them applied`);
  }, 60_000);

  test("refund-requested: every bad message goes to refund-requested.dlq, nothing is refunded or recorded for it, the valid requests behind it are answered", async () => {
    const userId = await openAccount(baseUrl, 10);
    const request = () => newEnvelope(refundRequestedTopic, userId, { orderId: randomUUID(), userId }) as unknown as Record<string, unknown>;
    const bad = badMessages(refundRequestedTopic, request, payloadFaults({ orderId: badUuid, userId: badUuid }));
    const valid = [request(), request(), request()];
    const before = {
      ledger: await count(sql`select count(*)::int as count from payments.ledger`),
      answers: await count(sql`select count(*)::int as count from payments.outbox where topic = ${refundProcessedTopic}`),
      inbox: (await sql<{ message_id: string }>`select message_id from payments.inbox`.execute(direct.kysely)).rows.map((row) => row.message_id),
    };

    await publishInterleaved(refundRequestedTopic, userId, bad, valid.map((envelope) => JSON.stringify(envelope)));

    const validOrderIds = valid.map((envelope) => (envelope.payload as { orderId: string }).orderId);
    await eventually(
      async () => (await count(sql`select count(*)::int as count from payments.refund_requests where order_id = any(${validOrderIds}::uuid[])`)) === 3,
      20_000,
      "the three valid requests behind the poison to be answered",
    );
    await eventually(() => deadLettersOf(refundRequestedTopic).length >= bad.length, 20_000, `${bad.length} dead letters on ${deadLetterTopic(refundRequestedTopic)}`);

    expect(deadLettersOf(refundRequestedTopic).sort()).toEqual(bad.map((message) => message.value).sort());
    expect(await deadLetteredCount(refundRequestedTopic, "payments")).toBe(bad.length);
    expect(await count(sql`select count(*)::int as count from payments.refund_requests`)).toBe(3);
    expect(await count(sql`select count(*)::int as count from payments.ledger`)).toBe(before.ledger);
    expect(await count(sql`select count(*)::int as count from payments.outbox where topic = ${refundProcessedTopic}`)).toBe(before.answers + 3);
    const inbox = (await sql<{ message_id: string }>`select message_id from payments.inbox`.execute(direct.kysely)).rows.map((row) => row.message_id);
    expect(inbox.filter((id) => !before.inbox.includes(id)).sort()).toEqual(valid.map((envelope) => envelope.id as string).sort());
    expect(idsOf(bad).filter((id) => inbox.includes(id))).toEqual([]);
    // Orders hears the three answers (for orders it never placed): let that settle before the next test.
    await eventually(
      async () => (await count(sql`select count(*)::int as count from orders.inbox where topic = ${refundProcessedTopic}`)) === 3,
      20_000,
      "Orders to consume the three answers",
    );
    console.log(`refund-requested: ${bad.length} bad messages dead-lettered, 3 valid requests behind them answered`);
  }, 60_000);

  test("refund-processed: every bad message goes to refund-processed.dlq, no order moves for it, the valid answers behind it are applied", async () => {
    const userId = randomUUID();
    // Orders whose cancel awaits Payments' answer, written straight to the table: the answers come from this test.
    const orderIds = [randomUUID(), randomUUID(), randomUUID()];
    for (const id of orderIds) {
      await sql`insert into orders.orders (id, user_id, amount, description, status) values (${id}, ${userId}, 100, 'cancelling', 'CancelRequested')`.execute(direct.kysely);
    }
    const answer = (orderId: string, status: "refunded" | "cancelled") =>
      newEnvelope(refundProcessedTopic, userId, status === "refunded" ? { orderId, userId, status, amount: 100, balance: 1_000 } : { orderId, userId, status }) as unknown as Record<string, unknown>;
    const bad = badMessages(refundProcessedTopic, () => answer(orderIds[0]!, "refunded"), payloadFaults({
      orderId: badUuid,
      userId: badUuid,
      status: fc.oneof(fc.string({ maxLength: 12 }).filter((status) => status !== "refunded" && status !== "cancelled"), notAString),
      amount: fc.oneof(fc.integer({ max: 0 }), fc.double({ noNaN: true }).filter((value) => !Number.isInteger(value)), fc.constantFrom("100", true)),
      balance: fc.oneof(fc.integer({ max: -1 }), fc.double({ noNaN: true }).filter((value) => !Number.isInteger(value)), fc.constantFrom("900", true)),
    }));
    const valid = [answer(orderIds[0]!, "refunded"), answer(orderIds[1]!, "cancelled"), answer(orderIds[2]!, "refunded")];
    const updatesBefore = await count(sql`select count(*)::int as count from orders.outbox where topic = 'orders.order-updated'`);
    const inboxBefore = (await sql<{ message_id: string }>`select message_id from orders.inbox`.execute(direct.kysely)).rows.map((row) => row.message_id);

    await publishInterleaved(refundProcessedTopic, userId, bad, valid.map((envelope) => JSON.stringify(envelope)));

    const statuses = async () =>
      (await sql<{ id: string; status: string }>`select id, status from orders.orders where id = any(${orderIds}::uuid[])`.execute(direct.kysely)).rows;
    await eventually(async () => (await statuses()).every((order) => order.status !== "CancelRequested"), 20_000, "the valid answers behind the poison to be applied");
    await eventually(() => deadLettersOf(refundProcessedTopic).length >= bad.length, 20_000, `${bad.length} dead letters on ${deadLetterTopic(refundProcessedTopic)}`);

    const byId = new Map((await statuses()).map((order) => [order.id, order.status]));
    expect(orderIds.map((id) => byId.get(id))).toEqual(["Refunded", "Cancelled", "Refunded"]);
    expect(deadLettersOf(refundProcessedTopic).sort()).toEqual(bad.map((message) => message.value).sort());
    expect(await deadLetteredCount(refundProcessedTopic, "orders")).toBe(bad.length);
    const inbox = (await sql<{ message_id: string }>`select message_id from orders.inbox`.execute(direct.kysely)).rows.map((row) => row.message_id);
    expect(inbox.filter((id) => !inboxBefore.includes(id)).sort()).toEqual(valid.map((envelope) => envelope.id as string).sort());
    expect(idsOf(bad).filter((id) => inbox.includes(id))).toEqual([]);
    expect(await count(sql`select count(*)::int as count from orders.outbox where topic = 'orders.order-updated'`)).toBe(updatesBefore + 3);
    console.log(`refund-processed: ${bad.length} bad messages dead-lettered, 3 valid answers behind them applied`);
  }, 60_000);
});
