import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { sql, type Kysely } from "kysely";
import { migrate } from "../../db";
import { openTestDatabase, testBackends, type TestDatabase } from "../../testing/postgres";
import { addDeadLetterSubjects, createDeadLettersTable } from "./dead-letters.tables";

/**
 * The migration that adds `subject`, run on a table that already holds dead letters (as a module
 * that has been running has): each row gets the subject its stored message holds, read as the
 * recorder reads new ones, page after page.
 */
const schema = "dead_letter_subjects_test";
/** More than one page of the backfill (500 rows a page). */
const many = 1_234;

for (const backend of testBackends) {
  describe(`adding subjects to existing dead letters on ${backend}`, () => {
    let testDatabase: TestDatabase<unknown>;
    const db = () => testDatabase.database.kysely as Kysely<any>;
    const rows: { id: string; topic: string; message: Buffer; expected: string | null }[] = [];
    const row = (topic: string, message: string | Buffer, expected: string | null) =>
      rows.push({ id: randomUUID(), topic, message: typeof message === "string" ? Buffer.from(message) : message, expected });

    beforeAll(async () => {
      testDatabase = await openTestDatabase(backend);
      await migrate(db(), { schema, migrations: { "001-dead-letters": { up: createDeadLettersTable } } });
      for (let n = 0; n < many; n++) row("in", JSON.stringify({ id: randomUUID(), payload: { ref: `ref-${n}` } }), `ref-${n}`);
      row("in", "not json at all", null);
      row("in", Buffer.from([0xff, 0xfe, 0x00, 0x7b]), null);
      row("in", JSON.stringify({ payload: { ref: { nested: true } } }), null);
      row("also-in", JSON.stringify({ payload: { ref: 7 } }), "7");
      row("no-path", JSON.stringify({ payload: { ref: "not read" } }), null);
      for (let start = 0; start < rows.length; start += 200) {
        const values = rows.slice(start, start + 200).map(
          (r) => sql`(${r.id}::uuid, ${r.topic}, 'k', decode(${r.message.toString("base64")}, 'base64'), '{}', 'Error: boom', 5, now(), now(), ${`event-${r.id}`})`,
        );
        await sql`
          insert into ${sql.table(`${schema}.dead_letters`)} (id, topic, key, message, headers, error, attempts, first_failed_at, last_failed_at, last_event)
          values ${sql.join(values)}`.execute(db());
      }
      await migrate(db(), {
        schema,
        migrations: {
          "001-dead-letters": { up: createDeadLettersTable },
          "002-subjects": { up: (kysely) => addDeadLetterSubjects(kysely, { in: ["payload", "ref"], "also-in": ["payload", "ref"] }) },
        },
      });
    }, 120_000);

    afterAll(async () => {
      await testDatabase?.cleanup();
    });

    test("every row gets the subject its message holds, or null; nothing else changes", async () => {
      const { rows: stored } = await sql<{ id: string; subject: string | null; error: string }>`
        select id, subject, error from ${sql.table(`${schema}.dead_letters`)}`.execute(db());
      const byId = new Map(stored.map((r) => [r.id, r]));
      expect(stored).toHaveLength(rows.length);
      expect(rows.filter((r) => byId.get(r.id)?.subject !== r.expected).map((r) => ({ id: r.id, expected: r.expected, got: byId.get(r.id)?.subject }))).toEqual([]);
      expect(stored.every((r) => r.error === "Error: boom")).toBe(true);
    });

    test("the list by subject has its index", async () => {
      const { rows: indexes } = await sql<{ indexdef: string }>`
        select indexdef from pg_indexes where schemaname = ${schema} and tablename = 'dead_letters' and indexname = 'dead_letters_by_subject'`.execute(db());
      expect(indexes).toHaveLength(1);
      expect(indexes[0]!.indexdef).toContain("(subject, last_failed_at, id)");
    });
  });
}
