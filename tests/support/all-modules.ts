import { ordersModule } from "../../modules/orders/index";
import { paymentsModule } from "../../modules/payments/index";

/** Every module, as main.ts hands them to `loadConfig` and `startServer`, for tests that start a server in-process. */
export const allModules = [ordersModule, paymentsModule];
