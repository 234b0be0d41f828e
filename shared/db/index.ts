export type { Database } from "./database";
export { createDatabase, type CreateDatabaseOptions } from "./create-database";
export { migrate, type MigrateOptions } from "./migrate";
