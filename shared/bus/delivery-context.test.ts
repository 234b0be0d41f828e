import { describe, expect, test } from "bun:test";
import type { Delivery, OutgoingMessage } from "./bus";
import { deliveryContext } from "./delivery-context";
import { defaultRetryPolicy } from "./delivery";

const message: Delivery = { topic: "orders.order-created", partition: 3, position: "7-0", key: "user-1", value: "{}", headers: { traceparent: "t" }, attempt: 2 };

function contextWith(publish: (topic: string, message: OutgoingMessage) => Promise<void>) {
  const lines: { level: string; message: string; fields?: Record<string, unknown> }[] = [];
  const log = (level: string) => (text: string, fields?: Record<string, unknown>) => void lines.push({ level, message: text, fields });
  const context = deliveryContext({
    group: "payments",
    policy: defaultRetryPolicy,
    signal: new AbortController().signal,
    logger: { info: log("info"), warn: log("warn"), error: log("error") },
    publish,
  });
  return { context, lines };
}

describe("deliveryContext", () => {
  test("dead-letters to <topic>.dlq with the message's key, value, headers and why", async () => {
    const published: [string, OutgoingMessage][] = [];
    const { context, lines } = contextWith(async (topic, outgoing) => void published.push([topic, outgoing]));
    await context.deadLetter(message, new Error("boom"), 5);
    expect(published).toHaveLength(1);
    const [topic, outgoing] = published[0]!;
    expect(topic).toBe("orders.order-created.dlq");
    expect(outgoing).toMatchObject({ key: "user-1", value: "{}" });
    expect(outgoing.headers).toMatchObject({ traceparent: "t", "x-error": "Error: boom", "x-attempts": "5", "x-original-topic": "orders.order-created", "x-original-partition": "3", "x-original-position": "7-0" });
    expect(lines).toEqual([expect.objectContaining({ level: "error", message: "message dead-lettered", fields: expect.objectContaining({ group: "payments", attempts: 5 }) })]);
  });

  test("rejects when the dead letter could not be published, so the message is not acknowledged", async () => {
    const { context, lines } = contextWith(async () => {
      throw new Error("broker down");
    });
    await expect(context.deadLetter(message, new Error("boom"), 5)).rejects.toThrow("broker down");
    expect(lines.map((line) => line.message)).toEqual(["message dead-lettered", "dead letter not published; the message will be delivered again"]);
  });

  test("logs a retry with the group and the attempt", () => {
    const { context, lines } = contextWith(async () => {});
    context.onRetry?.(message, new Error("flaky"), 2);
    expect(lines).toEqual([expect.objectContaining({ level: "warn", message: "handler failed, will retry", fields: expect.objectContaining({ group: "payments", attempt: 2, error: "Error: flaky" }) })]);
  });
});
