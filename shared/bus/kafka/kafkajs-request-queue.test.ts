import { afterEach, beforeEach, expect, test } from "bun:test";
import { createRequire } from "node:module";
import { eventually } from "../../testing/eventually";
import "./kafkajs-request-queue";

// kafkajs's own classes, as its Kafka client builds them for each broker connection.
const require = createRequire(import.meta.url);
const Connection = require("kafkajs/src/network/connection.js");
const { createLogger, LEVELS } = require("kafkajs/src/loggers/index.js");

interface Queue {
  pending: unknown[];
  throttleCheckTimeoutId: unknown;
  checkPendingRequests(): void;
  maybeThrottle(ms: number): void;
  push(request: { entry: { correlationId: number }; expectResponse: boolean; sendRequest(): void }): void;
  destroy(): void;
}

let queue: Queue;
const delays: number[] = [];
const realSetTimeout = globalThis.setTimeout;

beforeEach(() => {
  const logger = createLogger({ level: LEVELS.NOTHING, logCreator: () => () => {} });
  queue = new Connection({ host: "127.0.0.1", port: 1, logger, requestTimeout: 1_000, connectionTimeout: 1_000 }).requestQueue;
  delays.length = 0;
  globalThis.setTimeout = ((handler: () => void, ms?: number) => {
    delays.push(ms ?? 0);
    return realSetTimeout(handler, ms);
  }) as typeof setTimeout;
});

afterEach(() => {
  globalThis.setTimeout = realSetTimeout;
  queue.destroy();
});

test("an answered request with nothing pending schedules no timer (no negative timeout, no 1 ms polling)", async () => {
  queue.checkPendingRequests(); // what kafkajs runs after every response
  await Bun.sleep(50);
  expect(delays).toEqual([]);
  expect(queue.throttleCheckTimeoutId).toBeNull();
});

test("a request held back by the broker's throttle is still sent once the throttle ends", async () => {
  const sent: number[] = [];
  queue.maybeThrottle(100);
  queue.push({ entry: { correlationId: 7 }, expectResponse: true, sendRequest: () => sent.push(7) });
  expect(sent).toEqual([]);
  expect(delays.length).toBeGreaterThan(0);
  expect(delays.every((ms) => ms > 0 && ms <= 100)).toBe(true);
  await eventually(() => sent.length === 1, 2_000, "the throttled request to be sent");
  expect(queue.pending).toEqual([]);
});
