import { describe, expect, test } from "bun:test";
import { logLevel } from "kafkajs";
import { kafkaLogCreator, kafkaLogLevel, type KafkaLogLevel } from "./kafka-log";
import { topicCreationError } from "./kafka-topics";

// Lines as kafkajs 2.2.4 writes them (src/network/connection.js, src/consumer/runner.js, …).
const cases: [string, string, logLevel, { message: string } & Record<string, unknown>, KafkaLogLevel][] = [
  [
    "CreateTopics answered for topics that exist: expected at every start",
    "Connection", logLevel.ERROR,
    { message: "Response CreateTopics(key: 19, version: 3)", broker: "kafka:9092", clientId: "gozon-orders", error: "Topic creation errors", correlationId: 4, size: 120 },
    "debug",
  ],
  [
    "a heartbeat answered REBALANCE_IN_PROGRESS",
    "Connection", logLevel.ERROR,
    { message: "Response Heartbeat(key: 12, version: 3)", error: "The group is rebalancing, so a rejoin is needed", correlationId: 9, size: 10 },
    "info",
  ],
  [
    "an offset commit answered ILLEGAL_GENERATION",
    "Connection", logLevel.ERROR,
    { message: "Response OffsetCommit(key: 8, version: 5)", error: "Specified group generation id is not valid" },
    "info",
  ],
  [
    "the runner re-joining a rebalancing group",
    "Runner", logLevel.WARN,
    { message: "The group is rebalancing, re-joining", groupId: "payments.order-created", memberId: "m-1", error: "The group is rebalancing, so a rejoin is needed" },
    "info",
  ],
  [
    "another failed response stays an error",
    "Connection", logLevel.ERROR,
    { message: "Response Produce(key: 0, version: 7)", error: "This server does not host this topic-partition" },
    "error",
  ],
  [
    "CreateTopics failing otherwise (seen by KafkaTopics, which reports it) keeps its level",
    "Connection", logLevel.ERROR,
    { message: "Response CreateTopics(key: 19, version: 3)", error: "The request timed out." },
    "error",
  ],
  ["a refused connection stays an error", "Connection", logLevel.ERROR, { message: "Connection error: connect ECONNREFUSED 127.0.0.1:9092" }, "error"],
  ["a consumer crash stays an error", "Consumer", logLevel.ERROR, { message: "Crash: KafkaJSNumberOfRetriesExceeded: connect ECONNREFUSED" }, "error"],
  ["a warning stays a warning", "ConsumerGroup", logLevel.WARN, { message: "Consumer group received unsubscribed topics" }, "warn"],
  ["a join is info", "ConsumerGroup", logLevel.INFO, { message: "Consumer has joined the group", groupId: "g" }, "info"],
  ["debug stays debug", "RequestQueue", logLevel.DEBUG, { message: "Request enqueued" }, "debug"],
];

describe("kafkaLogLevel", () => {
  test.each(cases)("%s", (_name, namespace, level, log, expected) => {
    expect(kafkaLogLevel(namespace, level, log)).toBe(expected);
  });
});

describe("kafkaLogCreator", () => {
  test("writes each kafkajs line through the logger at the mapped level, with its fields and without kafkajs's own timestamp", () => {
    const lines: { level: string; message: string; fields?: Record<string, unknown> }[] = [];
    const at = (level: string) => (message: string, fields?: Record<string, unknown>) => void lines.push({ level, message, fields });
    const log = kafkaLogCreator({ debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") })(logLevel.INFO);
    for (const [, namespace, level, entry] of cases) {
      log({ namespace, level, label: "", log: { timestamp: "2026-11-30T00:00:00.000Z", logger: "kafkajs", ...entry } });
    }
    expect(lines.map((line) => line.level)).toEqual(cases.map((entry) => entry[4]));
    expect(lines[0]).toEqual({
      level: "debug",
      message: "kafkajs Connection: Response CreateTopics(key: 19, version: 3)",
      fields: { namespace: "Connection", broker: "kafka:9092", clientId: "gozon-orders", error: "Topic creation errors", correlationId: 4, size: 120 },
    });
  });

  test("a logger without debug drops debug lines", () => {
    const written: string[] = [];
    const write = (message: string) => void written.push(message);
    const log = kafkaLogCreator({ info: write, warn: write, error: write })(logLevel.INFO);
    log({ namespace: "RequestQueue", level: logLevel.DEBUG, label: "DEBUG", log: { timestamp: "", message: "Request enqueued" } });
    expect(written).toEqual([]);
  });
});

describe("topicCreationError", () => {
  test("names the broker's reason that kafkajs keeps inside its aggregate error", () => {
    const { KafkaJSAggregateError, KafkaJSCreateTopicError } = require("kafkajs/src/errors.js");
    const aggregate = new KafkaJSAggregateError("Topic creation errors", [
      new KafkaJSCreateTopicError({ type: "INVALID_REPLICATION_FACTOR", message: "Replication-factor is invalid", retriable: false }, "orders.order-updated"),
    ]);
    const error = topicCreationError("orders.order-updated", aggregate);
    expect(error.message).toBe("could not create Kafka topic orders.order-updated: INVALID_REPLICATION_FACTOR: Replication-factor is invalid");
    expect(error.cause).toBe(aggregate);
  });

  test("any other error is passed on as it is", () => {
    const refused = new Error("Connection error: connect ECONNREFUSED");
    expect(topicCreationError("t", refused)).toBe(refused);
  });
});
