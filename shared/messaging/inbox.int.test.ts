import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { sql } from "kysely";
import { z } from "zod";
import type { Subscription } from "../bus/bus";
import { MemoryBus } from "../bus/memory/memory-bus";
import { envelopeSchema, newEnvelope } from "../contracts/envelope";
import { migrate } from "../db";
import { createLogger } from "../logger";
import { eventually } from "../testing/eventually";
import { openTestDatabase, testBackends, type TestDatabase } from "../testing/postgres";
import { consumeInbox } from "./inbox";
import { addOutboxDelivery, addOutboxHeaders, createMessagingTables } from "./messaging.tables";
import { OutboxWriter } from "./outbox";

const schema = "inbox_test";
const envelope = envelopeSchema("thing", z.object({ n: z.number() }));

/** A trace context as a producer would have stamped on a message. */
function traceContext() {
  const traceId = randomBytes(16).toString("hex");
  const spanId = randomBytes(8).toString("hex");
  return { traceId, spanId, headers: { traceparent: `00-${traceId}-${spanId}-01` } };
}

// A message skipped as a duplicate gets a debug line that carries its trace context, in both
// forms of consumer; a new one gets none.
for (const backend of testBackends) {
  describe(`skipped duplicates on ${backend}`, () => {
    let testDatabase: TestDatabase<unknown>;
    const bus = new MemoryBus();
    const subscriptions: Subscription[] = [];
    const lines: Record<string, unknown>[] = [];
    const applied: string[] = [];
    const linesAbout = (messageId: string) => lines.filter((line) => line.messageId === messageId);
    const inboxed = async (id: string) =>
      (await sql<{ count: number }>`select count(*)::int as count from ${sql.table(`${schema}.inbox`)} where message_id = ${id}::uuid`.execute(testDatabase.database.kysely)).rows[0]!.count === 1;

    beforeAll(async () => {
      testDatabase = await openTestDatabase(backend);
      const kysely = testDatabase.database.kysely;
      await migrate(kysely, { schema, migrations: { "001-messaging": { up: createMessagingTables }, "002-outbox-headers": { up: addOutboxHeaders }, "003-outbox-delivery": { up: (db) => addOutboxDelivery(db) } } });
      const common = {
        bus,
        db: kysely.withSchema(schema),
        inboxSchema: schema,
        outbox: new OutboxWriter(schema, { publish: async () => {} }),
        group: "g",
        envelope,
        logger: createLogger({ level: "debug", write: (line) => lines.push(JSON.parse(line)) }),
      };
      subscriptions.push(
        await consumeInbox({ ...common, topic: "once", applyInTransaction: async (_trx, messages) => void applied.push(...messages.map((message) => message.id)) }),
        await consumeInbox({
          ...common,
          topic: "one-statement",
          applyInOneStatement: {
            batch: (messages) => JSON.stringify(messages.map((message) => message.id)),
            // No effects and no outbox rows: the inbox's own work is what is under test.
            sql: (batch) => sql`queued as (
              select null::bigint as id, null::text as topic, null::text as key, null::text as value, null::jsonb as headers, null::text as delivery
              from json_array_elements_text(${batch}) where false)`,
          },
        }),
      );
    }, 60_000);

    afterAll(async () => {
      for (const subscription of subscriptions) await subscription.close();
      await bus.close();
      await testDatabase?.cleanup();
    });

    for (const topic of ["once", "one-statement"]) {
      test(`${topic}: a message delivered again, or twice at once, is skipped with a line naming it and the copy's trace`, async () => {
        const message = newEnvelope("thing", "k", { n: 1 });
        const first = traceContext();
        await bus.publish(topic, [{ key: "k", value: JSON.stringify(message), headers: first.headers }]);
        await eventually(() => inboxed(message.id), 5_000, "the message consumed");
        expect(linesAbout(message.id)).toEqual([]);

        const again = traceContext();
        await bus.publish(topic, [{ key: "k", value: JSON.stringify(message), headers: again.headers }]);
        await eventually(() => linesAbout(message.id).length === 1, 5_000, "a line about the copy delivered again");

        // A new message published twice at once: the first copy applied, the second skipped.
        const twice = newEnvelope("thing", "k", { n: 2 });
        const copies = [traceContext(), traceContext()];
        await bus.publish(topic, copies.map((context) => ({ key: "k", value: JSON.stringify(twice), headers: context.headers })));
        await eventually(() => linesAbout(twice.id).length === 1, 5_000, "a line about the second copy");

        const shown = (line: Record<string, unknown>) => ({ msg: line.msg, level: line.level, topic: line.topic, traceId: line.traceId, spanId: line.spanId });
        const expected = (context: { traceId: string; spanId: string }) => ({ msg: "duplicate message skipped", level: "debug", topic, traceId: context.traceId, spanId: context.spanId });
        expect([...linesAbout(message.id), ...linesAbout(twice.id)].map(shown)).toEqual([expected(again), expected(copies[1]!)]);
        if (topic === "once") expect(applied.filter((id) => id === message.id || id === twice.id)).toEqual([message.id, twice.id]);
      });
    }

    test("one-statement: in a batch of new and known messages only the known one is skipped", async () => {
      const known = newEnvelope("thing", "k", { n: 1 });
      await bus.publish("one-statement", [{ key: "k", value: JSON.stringify(known) }]);
      await eventually(() => inboxed(known.id), 5_000, "the first message consumed");
      const fresh = newEnvelope("thing", "k", { n: 2 });
      await bus.publish("one-statement", [
        { key: "k", value: JSON.stringify(fresh) },
        { key: "k", value: JSON.stringify(known) },
      ]);
      // Same key, so one partition, in order: by the known one's line the new one has been consumed too.
      await eventually(() => linesAbout(known.id).length === 1, 5_000, "the known one's line");
      expect(linesAbout(fresh.id)).toEqual([]);
    });
  });
}
