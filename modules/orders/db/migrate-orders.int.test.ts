import { functionFilesSuite } from "../../../shared/testing/function-files-suite";
import { ordersSchema } from "./orders.repository";
import { migrateOrders, ordersFunctions } from "./migrate-orders";
import { ordersMigrations } from "./migrations/001-create-orders";

// advance_statuses and may_move: one current text each, in db/functions/.
functionFilesSuite({ name: "migrateOrders", migrateModule: migrateOrders, schema: ordersSchema, migrations: ordersMigrations, functions: ordersFunctions, functionCount: 2 });
