import { describe, expect, test } from "bun:test";
import { ConfigError, loadConfig } from "../../shared/config";
import { ordersModule } from "./index";
import type { OrdersSettings } from "./orders.settings";

/** The Orders settings as the composition root resolves them from this environment. */
const ordersSettingsOf = (env: Record<string, string>) => loadConfig(env, [ordersModule]).moduleSettings.orders as OrdersSettings;

describe("the Orders settings resolve", () => {
  test.each<[string, Record<string, string>, Partial<OrdersSettings>]>([
    ["the defaults from an empty environment", {}, { intakeWindowMs: undefined, intakeBounds: { maxQueue: 1_000, maxWaitMs: 500 }, webSocketLimits: { perUser: 10, total: 10_000 } }],
    ["an intake window", { ORDER_INTAKE_WINDOW: "10ms" }, { intakeWindowMs: 10 }],
    ["the intake's queue bounds", { ORDER_INTAKE_MAX_QUEUE: "5000", ORDER_INTAKE_MAX_WAIT: "2s" }, { intakeBounds: { maxQueue: 5_000, maxWaitMs: 2_000 } }],
    ["WebSocket caps", { WEBSOCKET_MAX_PER_USER: "3", WEBSOCKET_MAX_TOTAL: "500" }, { webSocketLimits: { perUser: 3, total: 500 } }],
    ["empty strings as unset", { ORDER_INTAKE_WINDOW: " ", WEBSOCKET_MAX_TOTAL: "" }, { intakeWindowMs: undefined, webSocketLimits: { perUser: 10, total: 10_000 } }],
  ])("%s", (_name, env, expected) => {
    expect(ordersSettingsOf(env)).toMatchObject(expected);
  });
});

describe("the Orders settings reject with one line", () => {
  test.each([
    ["an intake window without a unit", { ORDER_INTAKE_WINDOW: "25" }, 'Invalid configuration: ORDER_INTAKE_WINDOW="25" — expected a duration such as 30s'],
    ["an intake window over a second", { ORDER_INTAKE_WINDOW: "2s" }, 'Invalid configuration: ORDER_INTAKE_WINDOW="2s" — expected at most 1s'],
    ["an intake queue of no orders", { ORDER_INTAKE_MAX_QUEUE: "0" }, 'Invalid configuration: ORDER_INTAKE_MAX_QUEUE="0" — expected a whole number from 1 to 1000000'],
    ["an intake wait without a unit", { ORDER_INTAKE_MAX_WAIT: "500" }, 'Invalid configuration: ORDER_INTAKE_MAX_WAIT="500" — expected a duration such as 30s'],
    ["a per-user WebSocket cap of 0", { WEBSOCKET_MAX_PER_USER: "0" }, 'Invalid configuration: WEBSOCKET_MAX_PER_USER="0" — expected a whole number from 1 to 1000000'],
    ["a total WebSocket cap that is no number", { WEBSOCKET_MAX_TOTAL: "lots" }, 'Invalid configuration: WEBSOCKET_MAX_TOTAL="lots" — expected a whole number from 1 to 1000000'],
    ["a per-user WebSocket cap over the total", { WEBSOCKET_MAX_PER_USER: "20", WEBSOCKET_MAX_TOTAL: "10" }, 'Invalid configuration: WEBSOCKET_MAX_PER_USER="20" — expected at most WEBSOCKET_MAX_TOTAL (10)'],
  ])("%s", (_name, env, expected) => {
    const action = () => loadConfig(env, [ordersModule]);
    expect(action).toThrow(ConfigError);
    expect(action).toThrow(expected);
    try {
      action();
    } catch (error) {
      expect((error as Error).message).not.toContain("\n");
    }
  });
});
