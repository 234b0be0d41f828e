import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { sql, type Kysely } from "kysely";
import { MemoryBus } from "../bus/memory/memory-bus";
import { newEnvelope } from "../contracts/envelope";
import { migrate } from "../db";
import { eventually } from "../testing/eventually";
import { refusingPublish } from "../testing/refusing-bus";
import { openTestDatabase, testBackends, type TestDatabase } from "../testing/postgres";
import { addOutboxHeaders, createMessagingTables } from "./messaging.tables";
import { enqueue, type OutboxMessage } from "./outbox";
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
    const inTransaction = (messages: OutboxMessage[], notify: boolean) =>
      testDatabase.database.kysely.transaction().execute((trx) => enqueue(trx, schema, messages, { notify }));
    const unpublished = async () =>
      (await sql<{ count: number }>`select count(*)::int as count from ${sql.table(`${schema}.outbox`)} where published_at is null`.execute(db())).rows[0]!.count;

    beforeAll(async () => {
      testDatabase = await openTestDatabase(backend);
      await migrate(testDatabase.database.kysely, { schema, migrations: { "001-messaging": { up: createMessagingTables }, "002-outbox-headers": { up: addOutboxHeaders } } });
      bus = new MemoryBus();
      for (const topic of [relayedTopic, atCommitTopic]) {
        await bus.subscribe(topic, "test", async (delivery) => {
          const id = (JSON.parse(delivery.value) as { id: string }).id;
          received.set(id, [...(received.get(id) ?? []), topic]);
        });
      }
      relay = new OutboxRelay({ database: testDatabase.database, db: db(), schema, bus, pollMs: 100, writerPublishedTopics: [atCommitTopic], writerGraceMs: graceMs });
      await relay.start();
    }, 30_000);
    afterAll(async () => {
      await relay?.stop();
      await bus?.close();
      await testDatabase?.cleanup();
    });

    test("rows published at commit are marked published, and the relay never publishes them again", async () => {
      const publisher = new CommittedPublisher({ db: db(), bus, schema, markEveryMs: 20 });
      const batches = [0, 1, 2].map((batch) => [message(atCommitTopic, `a${batch}`), message(atCommitTopic, `b${batch}`)]);
      for (const batch of batches) await publisher.publish(await inTransaction(batch, false));
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
      await publisher.publish(await inTransaction(batch, false));
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

    test("rows of other topics go through the relay at once, without the grace period", async () => {
      const relayed = [message(relayedTopic, "r1"), message(relayedTopic, "r2")];
      const leftToWriter = message(atCommitTopic, "nobody publishes this one");
      await inTransaction([...relayed, leftToWriter], true);
      await eventually(() => relayed.every(({ envelope }) => received.has(envelope.id)), 5_000, "the relay to publish");
      // The same round left the writer's row alone: it is still in its grace period.
      expect(received.has(leftToWriter.envelope.id)).toBe(false);
      await eventually(() => received.has(leftToWriter.envelope.id), 10_000, "the relay to publish the writer's row after the grace period");
    });
  });
}
