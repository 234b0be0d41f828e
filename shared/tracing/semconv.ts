/**
 * Attribute names of the OpenTelemetry semantic conventions for messaging spans. They are still
 * "incubating" in @opentelemetry/semantic-conventions, whose README asks users to copy such names
 * rather than import the unstable entry point. The HTTP ones are stable and imported from there.
 */
export const messagingAttributes = {
  system: "messaging.system",
  destination: "messaging.destination.name",
  partition: "messaging.destination.partition.id",
  consumerGroup: "messaging.consumer.group.name",
  messageId: "messaging.message.id",
  operationType: "messaging.operation.type",
  operationName: "messaging.operation.name",
  batchCount: "messaging.batch.message_count",
} as const;

/** Baggage entries under this prefix become attributes of every span below them (`gozon.order_id`). */
export const gozonAttributePrefix = "gozon.";
