import { logLevel, type logCreator, type LogEntry } from "kafkajs";
import type { BusLogger } from "../logger";

export type KafkaLogLevel = "debug" | "info" | "warn" | "error";

/** What kafkajs is asked to log: INFO and up (joins, assignments, stops); DEBUG is per request. */
export const kafkajsLogLevel = logLevel.INFO;

const levels: Record<number, KafkaLogLevel> = {
  [logLevel.ERROR]: "error",
  [logLevel.WARN]: "warn",
  [logLevel.INFO]: "info",
  [logLevel.DEBUG]: "debug",
};

// The protocol errors kafkajs treats as "the group is rebalancing" (isRebalancing in its errors.js):
// the member rejoins by itself, as it does every time a member joins or leaves the group.
const rebalancing = new Set([
  "The group is rebalancing, so a rejoin is needed", // REBALANCE_IN_PROGRESS
  "This is not the correct coordinator for this group", // NOT_COORDINATOR_FOR_GROUP
  "Specified group generation id is not valid", // ILLEGAL_GENERATION
]);

/**
 * The level a kafkajs log line deserves here. kafkajs logs every failed response at ERROR before
 * its caller has decided anything, including conditions this bus expects:
 * - `CreateTopics` answered "Topic creation errors": every process creates its topics at
 *   start-up and they usually exist. kafkajs's admin resolves when all of them already exist and
 *   rejects otherwise, and `KafkaTopics` then fails with each topic's reason, so the
 *   connection's line is only for troubleshooting (debug).
 * - a rebalance in progress (a heartbeat or commit answered REBALANCE_IN_PROGRESS, or the
 *   runner "re-joining"): a member joined or left; the consumer rejoins by itself (info).
 * Everything else keeps kafkajs's own level.
 */
export function kafkaLogLevel(namespace: string, level: number, log: Pick<LogEntry["log"], "message"> & Record<string, unknown>): KafkaLogLevel {
  const error = typeof log.error === "string" ? log.error : undefined;
  if (namespace === "Connection" && log.message.startsWith("Response CreateTopics") && error === "Topic creation errors") return "debug";
  if (error !== undefined && rebalancing.has(error)) return "info";
  return levels[level] ?? "info";
}

/** Routes kafkajs's own log lines to the bus logger (pino, JSON) at the level `kafkaLogLevel` gives. */
export function kafkaLogCreator(logger: BusLogger): logCreator {
  return () =>
    ({ namespace, level, log }) => {
      const { message, timestamp: _timestamp, logger: _kafkajs, ...fields } = log;
      const write = logger[kafkaLogLevel(namespace, level, log)];
      write?.call(logger, `kafkajs ${namespace}: ${message}`, { namespace, ...fields });
    };
}
