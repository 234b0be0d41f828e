import { DEFAULT_MIGRATION_LOCK_TABLE, MIGRATION_LOCK_ID, Migrator, sql, type Migration } from "kysely";
import { applyFunctionFiles } from "./function-files";
import type { ModuleDb } from "./database";

export interface MigrateOptions {
  /** The module's PostgreSQL schema: its tables and its migration history live there. */
  schema: string;
  /** By name; applied in name order, so prefix names with a number (`001-create-orders`). */
  migrations: Record<string, Migration>;
  /**
   * The module's functions folder (a URL ending in `/`): one `create or replace function` per
   * `.sql` file, the current text of each function, applied after the migrations at every start.
   * Tables change only through migrations; a function changes by editing its file (a migration
   * still drops one, or one whose signature changes, since `create or replace` cannot).
   */
  functions?: URL;
}

/**
 * Applies a module's pending migrations, keeping the history in `<schema>.kysely_migration` so
 * each module has its own. Migrations run on `db.withSchema(schema)`: their unqualified table
 * names land in the module's schema. All pending migrations run in one transaction under kysely's
 * migration lock (an advisory lock on PostgreSQL), so processes starting at once apply each
 * migration once, and a failure leaves nothing half-applied. Rejects naming the failing migration.
 * Then the function files, if any, in one transaction under the same lock.
 */
export async function migrate(db: ModuleDb, options: MigrateOptions): Promise<void> {
  const { schema, migrations, functions } = options;
  await migrateTables(db, schema, migrations);
  if (functions) await replaceFunctions(db, schema, functions);
}

async function migrateTables(db: ModuleDb, schema: string, migrations: Record<string, Migration>): Promise<void> {
  await createSchema(db, schema);
  const migrator = new Migrator({
    db: db.withSchema(schema),
    provider: { getMigrations: async () => migrations },
    migrationTableSchema: schema,
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error === undefined) return;
  const failed = results?.find((result) => result.status === "Error")?.migrationName;
  const what = failed ? `migration "${failed}" of schema "${schema}"` : `migrating schema "${schema}"`;
  throw new Error(`${what} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
}

/**
 * Two sessions replacing the same function at once may fail ("tuple concurrently updated"), so
 * processes starting together take turns: under kysely's migration lock (the adapter's, the one
 * `migrateToLatest` takes), on one connection, in one transaction.
 */
async function replaceFunctions(db: ModuleDb, schema: string, functions: URL): Promise<void> {
  const adapter = db.getExecutor().adapter;
  const lock = { lockTable: DEFAULT_MIGRATION_LOCK_TABLE, lockRowId: MIGRATION_LOCK_ID, lockTableSchema: schema };
  await db.connection().execute(async (connection) => {
    await adapter.acquireMigrationLock(connection, lock);
    try {
      await connection.transaction().execute((trx) => applyFunctionFiles(trx, functions));
    } finally {
      await adapter.releaseMigrationLock(connection, lock);
    }
  });
}

/**
 * `IF NOT EXISTS` does not stop two sessions racing to create the same schema: the loser fails
 * on a unique index. Losing that race is fine as long as the schema exists afterwards.
 */
async function createSchema(db: ModuleDb, schema: string): Promise<void> {
  try {
    await sql`create schema if not exists ${sql.id(schema)}`.execute(db);
  } catch (error) {
    const { rows } = await sql`select 1 from pg_namespace where nspname = ${schema}`.execute(db);
    if (rows.length === 0) throw error;
  }
}
