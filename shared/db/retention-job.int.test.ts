import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { sql, type Kysely } from "kysely";
import { createIdempotencyTable, idempotencyKeysRetention, indexIdempotencyKeysByAge } from "../http/idempotency.tables";
import { createDeadLettersTable, deadLettersRetention } from "../messaging/dead-letters/dead-letters.tables";
import { createMessagingTables, inboxRetention, indexInboxByAge, outboxRetention } from "../messaging/messaging.tables";
import { eventually } from "../testing/eventually";
import { openTestDatabase, testBackends, type TestDatabase } from "../testing/postgres";
import { migrate } from "./migrate";
import { RetentionJob, type RetentionRule } from "./retention-job";

const schema = "retention_test";
const hour = 3_600_000;

/** The rules a module runs, all with the same window. */
const rules = (windowMs: number): RetentionRule[] => [
  inboxRetention(windowMs),
  outboxRetention(windowMs),
  deadLettersRetention(windowMs),
  idempotencyKeysRetention(windowMs),
];

for (const backend of testBackends) {
  describe(`retention on ${backend}`, () => {
    let testDatabase: TestDatabase<unknown>;
    const db = () => testDatabase.database.kysely as Kysely<any>;
    const table = (name: string) => sql.table(`${schema}.${name}`);
    const ago = (ms: number) => new Date(Date.now() - ms).toISOString();

    const inbox = async (count: number, receivedAgoMs: number) => {
      for (let i = 0; i < count; i++) {
        await sql`insert into ${table("inbox")} (message_id, topic, received_at) values (${randomUUID()}::uuid, 't', ${ago(receivedAgoMs)}::timestamptz)`.execute(db());
      }
    };
    const outbox = async (what: string, createdAgoMs: number, publishedAgoMs: number | null) => {
      await sql`insert into ${table("outbox")} (message_id, topic, key, value, created_at, published_at)
        values (${randomUUID()}::uuid, 't', ${what}, '{}', ${ago(createdAgoMs)}::timestamptz,
          ${publishedAgoMs === null ? null : ago(publishedAgoMs)}::timestamptz)`.execute(db());
    };
    const key = async (what: string, createdAgoMs: number) => {
      await sql`insert into ${table("idempotency_keys")} (scope, key, request_hash, status, response, created_at)
        values ('deposit:u', ${what}, 'h', 200, '{}', ${ago(createdAgoMs)}::timestamptz)`.execute(db());
    };
    const deadLetter = async (what: string, state: string, failedAgoMs: number, resolvedAgoMs: number | null) => {
      await sql`insert into ${table("dead_letters")} (id, topic, key, message, headers, error, attempts, first_failed_at, last_failed_at, state, resolved_at, last_event)
        values (${randomUUID()}::uuid, 't', ${what}, convert_to('{}', 'UTF8'), '{}', 'e', 5, ${ago(failedAgoMs)}::timestamptz, ${ago(failedAgoMs)}::timestamptz,
          ${state}, ${resolvedAgoMs === null ? null : ago(resolvedAgoMs)}::timestamptz, 'x')`.execute(db());
    };
    const keys = async (name: string, column = "key") =>
      (await sql<{ key: string }>`select ${sql.ref(column)} as key from ${table(name)} order by 1`.execute(db())).rows.map((row) => row.key);
    const count = async (name: string) => (await sql<{ count: number }>`select count(*)::int as count from ${table(name)}`.execute(db())).rows[0]!.count;
    const empty = async () => {
      for (const name of ["inbox", "outbox", "idempotency_keys", "dead_letters"]) await sql`delete from ${table(name)}`.execute(db());
    };

    beforeAll(async () => {
      testDatabase = await openTestDatabase(backend);
      await migrate(db(), {
        schema,
        migrations: {
          "001": {
            async up(migration) {
              await createMessagingTables(migration);
              await createIdempotencyTable(migration);
              await createDeadLettersTable(migration);
              await indexInboxByAge(migration);
              await indexIdempotencyKeysByAge(migration);
            },
          },
        },
      });
    }, 30_000);
    afterAll(() => testDatabase?.cleanup());

    test("deletes what is past its window and keeps unpublished outbox rows, pending dead letters and young rows", async () => {
      await empty();
      await inbox(3, 2 * hour);
      await inbox(2, 1_000);
      await outbox("published long ago", 3 * hour, 2 * hour);
      await outbox("unpublished for long", 3 * hour, null);
      await outbox("published just now", 3 * hour, 1_000);
      await key("used long ago", 2 * hour);
      await key("used just now", 1_000);
      await deadLetter("pending for long", "pending", 5 * hour, null);
      await deadLetter("redriven long ago", "redriven", 5 * hour, 2 * hour);
      await deadLetter("discarded long ago", "discarded", 5 * hour, 2 * hour);
      await deadLetter("discarded just now", "discarded", 5 * hour, 1_000);

      const job = new RetentionJob({ db: db(), schema, rules: rules(hour) });
      expect(await job.runOnce()).toEqual({ inbox: 3, outbox: 1, dead_letters: 2, idempotency_keys: 1 });
      expect(await count("inbox")).toBe(2);
      expect(await keys("outbox")).toEqual(["published just now", "unpublished for long"]);
      expect(await keys("idempotency_keys")).toEqual(["used just now"]);
      expect(await keys("dead_letters")).toEqual(["discarded just now", "pending for long"]);
      expect(await job.runOnce()).toEqual({ inbox: 0, outbox: 0, dead_letters: 0, idempotency_keys: 0 });
    });

    test("deletes in statements of at most batchSize rows until nothing expired is left", async () => {
      await empty();
      await inbox(25, 2 * hour);
      const statements: number[] = [];
      const job = new RetentionJob({ db: db(), schema, rules: [inboxRetention(hour)], batchSize: 10, pauseMs: 1, onDeleted: (_table, deleted) => void statements.push(deleted) });
      expect(await job.runOnce()).toEqual({ inbox: 25 });
      expect(statements).toEqual([10, 10, 5]);
    });

    test("a started job runs by itself every half window", async () => {
      await empty();
      const job = new RetentionJob({ db: db(), schema, rules: rules(400) });
      expect(job.intervalMs).toBe(200);
      job.start();
      try {
        await inbox(4, 0);
        await key("short-lived", 0);
        await eventually(async () => (await count("inbox")) === 0 && (await count("idempotency_keys")) === 0, 10_000, "the rows to expire");
      } finally {
        await job.stop();
      }
    });

    test("runs at least every min(window / 2, 60 s) of its shortest window", () => {
      expect(new RetentionJob({ db: db(), schema, rules: rules(7 * 24 * hour) }).intervalMs).toBe(60_000);
      expect(new RetentionJob({ db: db(), schema, rules: [inboxRetention(7 * 24 * hour), outboxRetention(30_000)] }).intervalMs).toBe(15_000);
    });

    if (backend === "postgres") {
      test("stands by while another instance holds the module's lock", async () => {
        await empty();
        await inbox(3, 2 * hour);
        const job = new RetentionJob({ db: db(), schema, rules: [inboxRetention(hour)] });
        const result = await db().connection().execute(async (other) => {
          await sql`select pg_advisory_lock(hashtext(${`gozon.retention.${schema}`}))`.execute(other);
          try {
            return await job.runOnce();
          } finally {
            await sql`select pg_advisory_unlock(hashtext(${`gozon.retention.${schema}`}))`.execute(other);
          }
        });
        expect(result).toBe("standby");
        expect(await count("inbox")).toBe(3);
        expect(await job.runOnce()).toEqual({ inbox: 3 });
      });
    }
  });
}
