export type { Database, ModuleDb } from "./database";
export { createDatabase, type CreateDatabaseOptions } from "./create-database";
export { migrate, type MigrateOptions } from "./migrate";
