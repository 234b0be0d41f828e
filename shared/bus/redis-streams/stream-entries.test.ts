import { describe, expect, test } from "bun:test";
import { compareIds, StreamKeys } from "./stream-entries";

test("stream ids compare by time, then sequence", () => {
  expect(compareIds("5-1", "10-0")).toBeLessThan(0);
  expect(compareIds("10-2", "10-10")).toBeLessThan(0);
  expect(compareIds("7-3", "7-3")).toBe(0);
});

describe("StreamKeys.partitionOf", () => {
  const keys = new StreamKeys("run:42:", 16);

  test("reads back the partition of each of a topic's streams, whatever colons the prefix and topic hold", () => {
    for (const topic of ["orders.order-created", "a:b"]) {
      expect(keys.streams(topic).map((stream) => keys.partitionOf(topic, stream))).toEqual(Array.from({ length: 16 }, (_, partition) => partition));
    }
  });

  test.each([
    ["another topic's stream", "run:42:payments.payment-processed:3"],
    ["another prefix", "run:43:orders.order-created:3"],
    ["a partition past the count", "run:42:orders.order-created:16"],
    ["a lease key", "run:42:orders.order-created:orders:lease:3"],
    ["a padded number", "run:42:orders.order-created:03"],
  ])("rejects %s", (_name, stream) => {
    expect(() => keys.partitionOf("orders.order-created", stream)).toThrow("is not a partition stream");
  });
});
