import { sql } from "kysely";
import { applyFunctionFiles } from "../db/function-files";
import type { ModuleDb } from "../db";

/** A function of the schema whose definition in the database is not what its file says. */
export interface FunctionDrift {
  /** `schema.name(arguments)`. */
  function: string;
  /** `pg_get_functiondef` as the database holds it; null when only a file defines it. */
  inDatabase: string | null;
  /** `pg_get_functiondef` as the files define it; null when no file does. */
  fromFiles: string | null;
}

/**
 * Compares the functions `schema` holds with the ones the files of `directory` define: each must
 * have exactly one file, with the same definition (`pg_get_functiondef`, normalised by the
 * database, so layout outside the body does not count). The files' side is found by dropping the
 * schema's functions and running the files in a transaction that is then rolled back, so the
 * database is left as it was. Returns what differs, or an empty list.
 */
export async function functionDrift(db: ModuleDb, schema: string, directory: URL): Promise<FunctionDrift[]> {
  const inDatabase = await definitions(db, schema);
  let fromFiles = new Map<string, string>();
  const rollback = new Error("roll back");
  await db
    .transaction()
    .execute(async (trx) => {
      for (const name of inDatabase.keys()) await sql`drop function ${sql.raw(name)} cascade`.execute(trx);
      await applyFunctionFiles(trx, directory);
      fromFiles = await definitions(trx, schema);
      throw rollback;
    })
    .catch((error) => {
      if (error !== rollback) throw error;
    });
  const names = [...new Set([...inDatabase.keys(), ...fromFiles.keys()])].sort();
  return names
    .filter((name) => inDatabase.get(name) !== fromFiles.get(name))
    .map((name) => ({ function: name, inDatabase: inDatabase.get(name) ?? null, fromFiles: fromFiles.get(name) ?? null }));
}

async function definitions(db: ModuleDb, schema: string): Promise<Map<string, string>> {
  const { rows } = await sql<{ name: string; definition: string }>`
    select format('%I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)) as name,
           pg_get_functiondef(p.oid) as definition
    from pg_proc as p join pg_namespace as n on n.oid = p.pronamespace
    where n.nspname = ${schema}
    order by 1`.execute(db);
  return new Map(rows.map((row) => [row.name, row.definition]));
}
