import { migrate, type ModuleDb } from "../../../shared/db";
import { ordersSchema } from "./orders.repository";
import { ordersMigrations } from "./migrations/001-create-orders";

/** The current text of each `orders` function, one `.sql` file per function. */
export const ordersFunctions = new URL("./functions/", import.meta.url);

/** Schema `orders` brought up to date: its migrations, then its function files. */
export function migrateOrders(db: ModuleDb): Promise<void> {
  return migrate(db, { schema: ordersSchema, migrations: ordersMigrations, functions: ordersFunctions });
}
