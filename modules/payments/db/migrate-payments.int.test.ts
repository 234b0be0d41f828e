import { functionFilesSuite } from "../../../shared/testing/function-files-suite";
import { paymentsSchema } from "./accounts.repository";
import { migratePayments, paymentsFunctions } from "./migrate-payments";
import { paymentsMigrations } from "./migrations/001-create-payments";

// account_key, debit_orders and refund_orders: one current text each, in db/functions/.
functionFilesSuite({ name: "migratePayments", migrateModule: migratePayments, schema: paymentsSchema, migrations: paymentsMigrations, functions: paymentsFunctions, functionCount: 3 });
