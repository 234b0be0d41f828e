import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { sql, type Kysely } from "kysely";
import { deadLetterTopic, PoisonMessageError, type Abortable, type Bus, type Delivery, type Subscription } from "../../bus/bus";
import type { RetryPolicy } from "../../bus/delivery";
import { createKafkaBus } from "../../bus/kafka";
import { MemoryBroker } from "../../bus/memory/memory-broker";
import { MemoryBus } from "../../bus/memory/memory-bus";
import { RedisBus } from "../../bus/redis-streams/redis-bus";
import { migrate } from "../../db";
import { eventually } from "../../testing/eventually";
import { openTestDatabase, type TestDatabase } from "../../testing/postgres";
import { deleteRedisKeys, testRedisUrl } from "../../testing/redis";
import { recordDeadLetters } from "./dead-letter-recorder";
import type { DeadLetter } from "./dead-letter-store";
import { DeadLetters } from "./dead-letters";
import { addDeadLetterSubjects, createDeadLettersTable } from "./dead-letters.tables";

/**
 * The recorder and the store over each bus adapter (the same Bus port), on PostgreSQL: a consumer
 * that refuses some messages, the recorder on its `<topic>.dlq`, and the store acting on the rows.
 */

const retryPolicy: RetryPolicy = { maxAttempts: 3, baseBackoffMs: 20, maxBackoffMs: 100 };
const schema = "dead_letter_test";
const kafkaBrokers = process.env.KAFKA_BROKERS?.split(",").map((broker) => broker.trim());

interface Adapter {
  name: string;
  skip?: string;
  /** A new member (think: a new process) over the namespace's broker. */
  member(namespace: string): Bus & Abortable;
  /** How long a dead member's partitions may take to move. */
  takeoverMs: number;
  cleanup(namespace: string): Promise<void>;
}

const memoryBrokers = new Map<string, MemoryBroker>();
const adapters: Adapter[] = [
  {
    name: "memory",
    member: (namespace) => {
      if (!memoryBrokers.has(namespace)) memoryBrokers.set(namespace, new MemoryBroker());
      return new MemoryBus({ broker: memoryBrokers.get(namespace), retryPolicy });
    },
    takeoverMs: 5_000,
    cleanup: async () => {},
  },
  {
    name: "redis",
    member: (namespace) => new RedisBus({ url: testRedisUrl, prefix: `${namespace}:`, leaseMs: 1_000, blockMs: 200, retryPolicy }),
    takeoverMs: 10_000,
    cleanup: (namespace) => deleteRedisKeys(`${namespace}:`),
  },
  {
    name: "kafka",
    skip: kafkaBrokers ? undefined : "KAFKA_BROKERS is not set: no Kafka broker on this machine",
    member: (namespace) => createKafkaBus({ brokers: kafkaBrokers!, clientId: namespace, ssl: false, retryPolicy }) as unknown as Bus & Abortable,
    takeoverMs: 30_000,
    cleanup: async () => {},
  },
];

for (const adapter of adapters) {
  const describeOrSkip = adapter.skip ? describe.skip : describe;
  describeOrSkip(`dead letters over the ${adapter.name} bus`, () => {
    const namespace = `gozon-test-${randomUUID().slice(0, 8)}`;
    const topic = `${namespace}.work`;
    const members: (Bus & Abortable)[] = [];
    const subscriptions: Subscription[] = [];
    let testDatabase: TestDatabase<unknown>;
    let store: DeadLetters;
    /** Envelope ids the consumer refuses (throws for) while they are in the set. */
    const refused = new Set<string>();
    /** Envelope ids the consumer applied, once per delivery. */
    const applied: string[] = [];
    /** Every message on `<topic>.dlq`, as a separate observer group saw it. */
    const deadLettered: Delivery[] = [];
    const db = () => testDatabase.database.kysely as Kysely<any>;

    const member = () => {
      const created = adapter.member(namespace);
      members.push(created);
      return created;
    };
    let recorderBus: Bus & Abortable;
    const startRecorder = async (bus: Bus & Abortable) => {
      recorderBus = bus;
      subscriptions.push(await recordDeadLetters({ bus, db: db(), schema, topic, group: "work.dead-letters", subject: ["payload", "ref"] }));
    };
    const envelope = (key = "user-1") => ({ id: randomUUID(), key, payload: { ref: randomUUID(), n: Math.random() } });
    let publisher: Bus;
    const publish = (value: string, key = "user-1") => publisher.publish(topic, [{ key, value }]);
    const recorded = async (id: string, state: DeadLetter["state"] = "pending", timeoutMs = adapter.takeoverMs) => {
      let found: DeadLetter | undefined;
      await eventually(async () => (found = await store.find(id))?.state === state, timeoutMs, `dead letter ${id} to be ${state}`);
      return found!;
    };
    const rowsWith = async (id: string) =>
      (await sql<{ count: number }>`select count(*)::int as count from ${sql.table(`${schema}.dead_letters`)} where id = ${id}::uuid`.execute(db())).rows[0]!.count;

    beforeAll(async () => {
      testDatabase = await openTestDatabase("postgres");
      await migrate(db(), {
        schema,
        migrations: { "001-dead-letters": { up: createDeadLettersTable }, "002-subjects": { up: (kysely) => addDeadLetterSubjects(kysely, { [topic]: ["payload", "ref"] }) } },
      });
      publisher = member();
      store = new DeadLetters({ module: "work", db: db(), schema, bus: publisher, topics: [topic] });
      const consumer = member();
      subscriptions.push(
        await consumer.subscribe(topic, "work", async (message) => {
          let id: string;
          try {
            id = (JSON.parse(message.value) as { id: string }).id;
          } catch {
            throw new PoisonMessageError("not JSON");
          }
          if (refused.has(id)) throw new Error(`Refused BY THE TEST: ${id}`);
          applied.push(id);
        }),
      );
      subscriptions.push(await consumer.subscribe(deadLetterTopic(topic), "observer", async (message) => void deadLettered.push(message)));
      await startRecorder(member());
    }, 60_000);

    afterAll(async () => {
      for (const subscription of subscriptions) await subscription.close().catch(() => {});
      for (const bus of members) await bus.close().catch(() => {});
      await testDatabase?.cleanup();
      await adapter.cleanup(namespace);
    }, 30_000);

    test("a message the consumer keeps refusing is recorded with its error; a re-drive publishes it with the same id", async () => {
      const message = envelope();
      refused.add(message.id);
      await publish(JSON.stringify(message));
      const row = await recorded(message.id);
      expect(row).toMatchObject({ module: "work", topic, key: "user-1", subject: message.payload.ref, attempts: retryPolicy.maxAttempts, replayCount: 0, message: JSON.stringify(message) });
      expect(row.error).toContain(`Refused BY THE TEST: ${message.id}`);
      expect(row.firstFailedAt.getTime()).toBe(row.lastFailedAt.getTime());

      refused.delete(message.id);
      const result = await store.redrive(message.id);
      expect(result).toMatchObject({ redriven: { state: "redriven", replayCount: 1 } });
      await eventually(() => applied.includes(message.id), adapter.takeoverMs, "the re-driven message to be applied under its own id");
    });

    test("the same message dead-lettered again is the same row: pending again, its replay count kept", async () => {
      const message = envelope();
      refused.add(message.id);
      await publish(JSON.stringify(message));
      const first = await recorded(message.id);
      expect(await store.redrive(message.id)).toMatchObject({ redriven: { replayCount: 1 } });
      // Still refused: the re-drive fails again and comes back.
      const again = await recorded(message.id, "pending");
      expect(again.replayCount).toBe(1);
      expect(again.lastFailedAt.getTime()).toBeGreaterThan(first.lastFailedAt.getTime());
      expect(again.firstFailedAt).toEqual(first.firstFailedAt);
      // And published again by someone else (a replay): still one row.
      await publish(JSON.stringify(message));
      await eventually(() => deadLettered.filter((delivery) => delivery.value === JSON.stringify(message)).length === 3, adapter.takeoverMs, "the third dead-lettering");
      await eventually(async () => (await store.find(message.id))!.lastFailedAt > again.lastFailedAt, adapter.takeoverMs, "the row to show the third");
      expect(await rowsWith(message.id)).toBe(1);
    });

    test("the same dead-letter message delivered twice changes nothing the second time", async () => {
      const message = envelope("user-2");
      refused.add(message.id);
      await publish(JSON.stringify(message), "user-2");
      await recorded(message.id);
      await store.discard(message.id);
      const original = deadLettered.find((delivery) => delivery.value === JSON.stringify(message))!;
      // The dead-letter topic hands the very same message out again (a redelivery after a crash),
      // followed by a marker on the same key, so once the marker is recorded the copy was too.
      const marker = envelope("user-2");
      await publisher.publish(deadLetterTopic(topic), [
        { key: original.key, value: original.value, headers: original.headers },
        { key: "user-2", value: JSON.stringify(marker), headers: { "x-error": "marker" } },
      ]);
      await recorded(marker.id);
      expect((await store.find(message.id))?.state).toBe("discarded");
    });

    test("a message with no readable envelope gets an id from its place on the topic, and comes back to that row", async () => {
      const garbage = `not json ${randomUUID()}`;
      await publish(garbage);
      await eventually(() => deadLettered.some((delivery) => delivery.value === garbage), adapter.takeoverMs, "the garbage to be dead-lettered");
      const idsOfGarbage = async () =>
        (await sql<{ id: string }>`select id from ${sql.table(`${schema}.dead_letters`)} where message = convert_to(${garbage}, 'UTF8')`.execute(db())).rows.map((row) => row.id);
      await eventually(async () => (await idsOfGarbage()).length === 1, adapter.takeoverMs, "its row");
      const [id] = await idsOfGarbage();
      const row = await recorded(id!);
      expect(row.attempts).toBe(1);
      expect(row.error).toContain("not JSON");
      expect(row.subject).toBeNull();
      expect(await store.redrive(id!)).toMatchObject({ redriven: { id, message: garbage } });
      const again = await recorded(id!, "pending");
      expect(again.replayCount).toBe(1);
      expect(await idsOfGarbage()).toEqual([id!]);
    });

    test("a discarded dead letter is refused a re-drive; an unknown id is reported unknown", async () => {
      const message = envelope();
      refused.add(message.id);
      await publish(JSON.stringify(message));
      await recorded(message.id);
      expect(await store.discard(message.id)).toMatchObject({ state: "discarded", replayCount: 0 });
      expect(await store.redrive(message.id)).toEqual({ refused: "discarded" });
      expect(await store.redrive(randomUUID())).toEqual({ refused: "unknown" });
      expect(await store.discard(randomUUID())).toBeUndefined();
      expect(applied).not.toContain(message.id);
    });

    test("re-drive by filter takes the pending ones whose error matches, case-insensitively", async () => {
      const [quota, other] = [envelope("user-3"), envelope("user-3")];
      refused.add(quota.id);
      refused.add(other.id);
      await publish(JSON.stringify(quota), "user-3");
      await publish(JSON.stringify(other), "user-3");
      await recorded(quota.id);
      await recorded(other.id);
      refused.delete(quota.id);
      refused.delete(other.id);
      // Only `quota` has its id in the error text; `other` has a different one.
      expect(await store.redriveMatching({ errorContains: `refused by the test: ${quota.id.toUpperCase()}` })).toBe(1);
      expect((await store.find(other.id))?.state).toBe("pending");
      await eventually(() => applied.includes(quota.id), adapter.takeoverMs, "the matching one to be applied");
      expect(await store.redriveMatching({ topic, errorContains: other.id })).toBe(1);
      await eventually(() => applied.includes(other.id), adapter.takeoverMs, "the other one to be applied");
      expect(await store.redriveMatching({ errorContains: other.id })).toBe(0);
    });

    test("a dead letter the table refuses for a while is recorded once it takes it, not dropped nor dead-lettered again", async () => {
      const message = envelope("user-5");
      const table = sql.table(`${schema}.dead_letters`);
      // A sequence counts the refused tries: nextval is not undone by the rollback.
      await sql`create sequence ${sql.table(`${schema}.refusals`)}`.execute(db());
      await sql`create function ${sql.table(`${schema}.refuse_dead_letters`)}() returns trigger language plpgsql as $$
        begin perform nextval('${sql.raw(schema)}.refusals'); raise exception 'the table refuses (test)'; end $$`.execute(db());
      await sql`create trigger refuse before insert on ${table} for each row execute function ${sql.table(`${schema}.refuse_dead_letters`)}()`.execute(db());
      try {
        refused.add(message.id);
        await publish(JSON.stringify(message), "user-5");
        await eventually(() => deadLettered.some((delivery) => delivery.value === JSON.stringify(message)), adapter.takeoverMs, "the dead-lettering");
        // Longer than the recorder's attempt limit would last (3 tries, 20 + 40 ms of backoff).
        const refusals = async () => (await sql<{ count: number }>`select case when is_called then last_value else 0 end::int as count from ${sql.table(`${schema}.refusals`)}`.execute(db())).rows[0]!.count;
        await eventually(async () => (await refusals()) >= 5, adapter.takeoverMs, "five refused tries");
        expect(await store.find(message.id)).toBeUndefined();
      } finally {
        await sql`drop trigger refuse on ${table}`.execute(db());
      }
      await recorded(message.id);
    }, 60_000);

    test("a recorder that dies before its row commits leaves the dead letter to the next one", async () => {
      const message = envelope("user-4");
      // Hold the table, so the recorder is stuck in its INSERT: the message is on the dead-letter
      // topic, delivered, not acknowledged, and not in the table.
      const holder = await testDatabase.database.kysely.connection().execute(async (connection) => {
        await sql`begin`.execute(connection);
        await sql`lock table ${sql.table(`${schema}.dead_letters`)} in exclusive mode`.execute(connection);
        // Asked on another session: inside a transaction, pg_stat_activity is read once and kept.
        const stuck = async () =>
          (await sql<{ pid: number }>`
            select pid from pg_stat_activity
            where datname = current_database() and wait_event_type = 'Lock' and query like '%dead_letters%'`.execute(db())).rows;
        refused.add(message.id);
        await publish(JSON.stringify(message), "user-4");
        await eventually(async () => (await stuck()).length > 0, adapter.takeoverMs, "the recorder to wait on the table");
        // The crash: the recorder's bus member dies, and its database session with it.
        await recorderBus.abort();
        for (const { pid } of await stuck()) await sql`select pg_terminate_backend(${pid})`.execute(connection);
        await sql`rollback`.execute(connection);
        return "released";
      });
      expect(holder).toBe("released");
      expect(await store.find(message.id)).toBeUndefined();
      await startRecorder(member());
      const row = await recorded(message.id);
      expect(row.error).toContain("Refused BY THE TEST");
    }, 60_000);
  });
}
