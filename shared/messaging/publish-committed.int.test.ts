import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { sql, type Kysely } from "kysely";
import { MemoryBus } from "../bus/memory/memory-bus";
import { newEnvelope } from "../contracts/envelope";
import { migrate } from "../db";
import { eventually } from "../testing/eventually";
import { refusingPublish } from "../testing/refusing-bus";
import { openTestDatabase, testBackends, type TestDatabase } from "../testing/postgres";
import { addOutboxDelivery, addOutboxHeaders, createMessagingTables } from "./messaging.tables";
import { enqueueForRelay, OutboxWriter, type OutboxMessage } from "./outbox";
import { OutboxRelay } from "./outbox-relay";
import { CommittedPublisher } from "./publish-committed";

const schema = "messaging_test";
const relayedTopic = "relayed";
const atCommitTopic = "at-commit";
const graceMs = 2_000;

// Messages published by their writer right after the commit, with the relay as the fallback.
for (const backend of testBackends) {
  describe(`publishing at commit on ${backend}`, () => {
    let testDatabase: TestDatabase<unknown>;
    let bus: MemoryBus;
    let relay: OutboxRelay;
    /** Message id → the topics it was received on, once per delivery. */
    const received = new Map<string, string[]>();
    const db = () => testDatabase.database.kysely.withSchema(schema) as Kysely<any>;
    const message = (topic: string, key: string): OutboxMessage => ({ topic, envelope: newEnvelope(topic, key, { key }) });
    /** Writes the messages for delivery at commit through `publisher`, in a transaction of their own; answers their handle. */
    const atCommit = (publisher: CommittedPublisher, messages: OutboxMessage[]) =>
      testDatabase.database.kysely.transaction().execute((trx) => new OutboxWriter(schema, publisher).atCommit(trx, messages));
    const forRelay = (messages: OutboxMessage[]) => testDatabase.database.kysely.transaction().execute((trx) => enqueueForRelay(trx, schema, messages));
    const unpublished = async () =>
      (await sql<{ count: number }>`select count(*)::int as count from ${sql.table(`${schema}.outbox`)} where published_at is null`.execute(db())).rows[0]!.count;

    beforeAll(async () => {
      testDatabase = await openTestDatabase(backend);
      await migrate(testDatabase.database.kysely, { schema, migrations: { "001-messaging": { up: createMessagingTables }, "002-outbox-headers": { up: addOutboxHeaders }, "003-outbox-delivery": { up: (db) => addOutboxDelivery(db) } } });
      bus = new MemoryBus();
      for (const topic of [relayedTopic, atCommitTopic]) {
        await bus.subscribe(topic, "test", async (delivery) => {
          const id = (JSON.parse(delivery.value) as { id: string }).id;
          received.set(id, [...(received.get(id) ?? []), topic]);
        });
      }
      relay = new OutboxRelay({ database: testDatabase.database, db: db(), schema, bus, pollMs: 100, atCommitGraceMs: graceMs });
      await relay.start();
    }, 30_000);
    afterAll(async () => {
      await relay?.stop();
      await bus?.close();
      await testDatabase?.cleanup();
    });

    test("the delivery is the row's: the handle publishes its rows at once, and a row of the same topic written for the relay is relayed at once", async () => {
      const publisher = new CommittedPublisher({ db: db(), bus, schema, markEveryMs: 20 });
      const published = message(atCommitTopic, "through the handle");
      const relayed = message(atCommitTopic, "through the relay");
      const writtenAt = Date.now();
      const handle = await atCommit(publisher, [published]);
      await forRelay([relayed]);
      await eventually(() => received.has(relayed.envelope.id), 5_000, "the relay to publish the row written for it");
      // The relay leaves the other row to its writer for the grace period: only the handle sends it.
      expect(received.has(published.envelope.id)).toBe(false);
      await handle.publish();
      await eventually(() => received.has(published.envelope.id), 1_000, "the handle to publish its row");
      expect(Date.now() - writtenAt).toBeLessThan(graceMs);
      const rows = await db().selectFrom("outbox").select(["message_id", "delivery"]).where("message_id", "in", [published.envelope.id, relayed.envelope.id]).execute();
      expect(Object.fromEntries(rows.map((row) => [row.message_id, row.delivery]))).toEqual({ [published.envelope.id]: "at-commit", [relayed.envelope.id]: "relay" });
      await eventually(async () => (await unpublished()) === 0, 5_000, "both rows marked published");
      expect([received.get(published.envelope.id), received.get(relayed.envelope.id)]).toEqual([[atCommitTopic], [atCommitTopic]]);
    });

    test("rows published at commit are marked published, and the relay never publishes them again", async () => {
      const publisher = new CommittedPublisher({ db: db(), bus, schema, markEveryMs: 20 });
      const batches = [0, 1, 2].map((batch) => [message(atCommitTopic, `a${batch}`), message(atCommitTopic, `b${batch}`)]);
      for (const batch of batches) await (await atCommit(publisher, batch)).publish();
      await eventually(async () => (await unpublished()) === 0, 5_000, "the rows to be marked published");
      // Past the relay's grace period: it must not have published any of them a second time.
      await Bun.sleep(graceMs + 300);
      for (const { envelope } of batches.flat()) expect(received.get(envelope.id)).toEqual([atCommitTopic]);
    });

    test("what the writer could not publish, the relay publishes once the grace period has passed", async () => {
      const state = { refusing: true };
      const publisher = new CommittedPublisher({ db: db(), bus: refusingPublish(bus, atCommitTopic, () => state.refusing), schema, markEveryMs: 20 });
      const batch = [message(atCommitTopic, "refused-1"), message(atCommitTopic, "refused-2")];
      const enqueuedAt = Date.now();
      await (await atCommit(publisher, batch)).publish();
      state.refusing = false;
      await eventually(() => batch.every(({ envelope }) => received.has(envelope.id)), 10_000, "the relay to publish the refused rows");
      expect(Date.now() - enqueuedAt).toBeGreaterThanOrEqual(graceMs);
      // The relay publishes inside the transaction that marks the rows, so a consumer may have them
      // before that commit: the mark is visible once the relay's round has committed, not at delivery.
      await eventually(async () => (await unpublished()) === 0, 5_000, "the relay's round to commit its mark");
      for (const { envelope } of batch) expect(received.get(envelope.id)).toEqual([atCommitTopic]);
      // The relay's subscriber hears the rows before the relay's transaction (which marks them) commits.
      await eventually(async () => (await unpublished()) === 0, 5_000, "the relay's mark to commit");
    });

    test("rows written for the relay go through it at once, without the grace period", async () => {
      const relayed = [message(relayedTopic, "r1"), message(relayedTopic, "r2")];
      const leftToWriter = message(atCommitTopic, "nobody publishes this one");
      // A handle never published: its row is the relay's only once the grace period has passed.
      await atCommit(new CommittedPublisher({ db: db(), bus, schema }), [leftToWriter]);
      await forRelay(relayed);
      await eventually(() => relayed.every(({ envelope }) => received.has(envelope.id)), 5_000, "the relay to publish");
      // The same round left the writer's row alone: it is still in its grace period.
      expect(received.has(leftToWriter.envelope.id)).toBe(false);
      await eventually(() => received.has(leftToWriter.envelope.id), 10_000, "the relay to publish the writer's row after the grace period");
    });
  });
}
