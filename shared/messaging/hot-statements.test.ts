import { describe, test } from "bun:test";
import { sql } from "kysely";
import { compilingDatabase, expectSqlSnapshot } from "../testing/sql-snapshot";
import { consumerStatement } from "./inbox";
import { claimStatement } from "./outbox-relay";
import { consumerCtes } from "./statement-ctes";

// The SQL the messaging mechanics run on every batch, as compiled, checked in beside the code
// (UPDATE_SQL_SNAPSHOTS=1 rewrites the files): a review sees what a change makes the database run.
// The modules' own statements (with their effects) are snapshotted beside them.
describe("the messaging statements as compiled", () => {
  test("a consumer's one statement, around stand-in effects", async () => {
    const statement = consumerStatement("module", "a-topic", {
      sql: (batch) => sql`
    ${consumerCtes.queued} as (
      insert into module.outbox (message_id, topic, key, value, headers)
      select m.message_id, m.topic, m.key, m.value, null from json_to_recordset(${batch}) as m(message_id uuid, topic text, key text, value text)
      where m.message_id in (select message_id from ${consumerCtes.fresh})
      returning id, topic, key, value, headers
    )`,
    });
    await expectSqlSnapshot(statement.compiledText(compilingDatabase), new URL("./consumer-statement.compiled.sql", import.meta.url));
  });

  test("the relay's claim, without claim effects (the relay's default batch size and grace)", async () => {
    const statement = claimStatement({ schema: "module", batchSize: 500, atCommitGraceMs: 2_000, effects: undefined });
    await expectSqlSnapshot(statement.compiledText(compilingDatabase), new URL("./claim-statement.compiled.sql", import.meta.url));
  });
});
