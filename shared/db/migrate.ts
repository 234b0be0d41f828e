import { Migrator, sql, type Kysely, type Migration } from "kysely";

export interface MigrateOptions {
  /** The module's PostgreSQL schema: its tables and its migration history live there. */
  schema: string;
  migrations: Record<string, Migration>;
}

/**
 * Applies a module's pending migrations in name order, with the history in
 * `<schema>.kysely_migration`, so each module keeps its own. Migrations run on `db.withSchema(schema)`,
 * so their unqualified table names land in the module's schema. kysely's migration lock (an
 * advisory lock on PostgreSQL) makes two processes starting at once apply each migration once.
 * Throws naming the migration that failed; that migration's transaction is rolled back.
 */
export async function migrate(db: Kysely<any>, options: MigrateOptions): Promise<void> {
  await sql`create schema if not exists ${sql.id(options.schema)}`.execute(db);
  const migrator = new Migrator({
    db: db.withSchema(options.schema),
    provider: { getMigrations: async () => options.migrations },
    migrationTableSchema: options.schema,
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((result) => result.status === "Error")?.migrationName ?? "(before any migration ran)";
    throw new Error(`migration ${failed} of schema ${options.schema} failed: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
}
