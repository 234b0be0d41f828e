import { describe, expect, test } from "bun:test";
import { DependencyUnavailableError, PoisonMessageError, type Delivery } from "./bus";
import { deliverAcrossPartitions, describeMessage, type DeliveryContext } from "./delivery";

/** How many messages of a one-partition batch are done. */
const deliverBatch = async (...args: Parameters<typeof deliverAcrossPartitions>) => (await deliverAcrossPartitions(...args)).length;

const message = (position: string): Delivery => ({ topic: "t", partition: 0, position, key: "k", value: "{}", headers: {}, attempt: 1 });

/** A context with a fast retry policy that records what was dead-lettered. */
function context(signal = new AbortController().signal) {
  const deadLettered: { position: string; attempts: number }[] = [];
  const value: DeliveryContext = {
    policy: { maxAttempts: 3, baseBackoffMs: 1, maxBackoffMs: 2 },
    signal,
    group: "g",
    deadLetter: async (delivered, _error, attempts) => void deadLettered.push({ position: delivered.position, attempts }),
  };
  return { value, deadLettered };
}

describe("retries while a dependency is down", () => {
  test("a DependencyUnavailableError never counts as an attempt: the message is handled once it passes", async () => {
    const { value, deadLettered } = context();
    let calls = 0;
    const done = await deliverBatch([message("0")], async () => {
      calls++;
      if (calls <= 10) throw new DependencyUnavailableError("database down");
    }, value);
    expect({ done, calls, deadLettered }).toEqual({ done: 1, calls: 11, deadLettered: [] });
  });

  test("other failures still count, also when interleaved with unavailability", async () => {
    const { value, deadLettered } = context();
    let calls = 0;
    await deliverBatch([message("0")], async () => {
      calls++;
      throw calls % 2 === 0 ? new DependencyUnavailableError("down") : new Error("bug");
    }, value);
    // Three counted failures (calls 1, 3, 5) with two unavailable ones between them.
    expect(calls).toBe(5);
    expect(deadLettered).toEqual([{ position: "0", attempts: 5 }]);
  });

  test("poison is still dead-lettered at once", async () => {
    const { value, deadLettered } = context();
    await deliverBatch([message("0")], async () => {
      throw new PoisonMessageError("bad");
    }, value);
    expect(deadLettered).toEqual([{ position: "0", attempts: 1 }]);
  });

  test("a consumer that stops while the dependency is down leaves the message unacknowledged, not dead-lettered", async () => {
    const stop = new AbortController();
    const { value, deadLettered } = context(stop.signal);
    let calls = 0;
    const done = await deliverBatch([message("0"), message("1")], async () => {
      if (++calls === 20) stop.abort();
      throw new DependencyUnavailableError("down");
    }, value);
    expect({ done, deadLettered }).toEqual({ done: 0, deadLettered: [] });
  });
});

describe("batches across partitions", () => {
  const at = (partition: number, position: string): Delivery => ({ ...message(position), partition });

  test("a batch that succeeds goes to the handler once, whole, in order", async () => {
    const { value } = context();
    const calls: string[][] = [];
    const batch = [at(0, "a1"), at(3, "b1"), at(0, "a2"), at(3, "b2")];
    const done = await deliverAcrossPartitions(batch, async (messages) => void calls.push(messages.map((m) => m.position)), value);
    expect(calls).toEqual([["a1", "b1", "a2", "b2"]]);
    expect(done).toEqual(batch);
  });

  test("when it fails, a failing message holds back only its own partition's messages, which stay in order", async () => {
    const { value, deadLettered } = context();
    const handled: string[] = [];
    const failing = new Set(["a2"]);
    let releaseA!: () => void;
    const aRetrying = new Promise<void>((resolve) => (releaseA = resolve));
    const done = await deliverAcrossPartitions(
      [at(0, "a1"), at(1, "b1"), at(0, "a2"), at(1, "b2"), at(0, "a3"), at(1, "b3")],
      async (messages) => {
        if (messages.length > 1) throw new Error("the whole batch fails: one of its messages is bad");
        const [m] = messages as [Delivery];
        if (failing.has(m.position)) {
          // Partition 1 is done before partition 0's bad message has used its retries.
          await aRetrying;
          throw new Error("bad message");
        }
        handled.push(m.position);
        if (m.position === "b3") releaseA();
      },
      value,
    );
    expect(handled.filter((p) => p.startsWith("b"))).toEqual(["b1", "b2", "b3"]);
    expect(handled.filter((p) => p.startsWith("a"))).toEqual(["a1", "a3"]);
    expect(handled.indexOf("b3")).toBeLessThan(handled.indexOf("a3"));
    expect(deadLettered).toEqual([{ position: "a2", attempts: 3 }]);
    // Dead-lettered counts as done: every message may be acknowledged, returned in batch order.
    expect(done.map((m) => m.position)).toEqual(["a1", "b1", "a2", "b2", "a3", "b3"]);
  });

  test("a consumer that stops mid-way returns only what is done; the rest stays unacknowledged", async () => {
    const stop = new AbortController();
    const { value } = context(stop.signal);
    const done = await deliverAcrossPartitions([at(0, "a1"), at(1, "b1"), at(0, "a2")], async (messages) => {
      if (messages.length > 1) throw new Error("isolate");
      if (messages[0]!.position === "a1") return;
      stop.abort();
      throw new DependencyUnavailableError("down");
    }, value);
    expect(done.map((m) => m.position)).toEqual(["a1"]);
  });
});

describe("the log fields of a message", () => {
  const traceId = "0af7651916cd43dd8448eb211c80319c";
  const spanId = "b7ad6b7169203331";
  const withHeaders = (headers: Record<string, string>) => ({ ...message("7-0"), headers });

  test("carry the trace context of its traceparent header", () => {
    expect(describeMessage(withHeaders({ traceparent: `00-${traceId}-${spanId}-01` }))).toMatchObject({ topic: "t", position: "7-0", traceId, spanId });
  });

  test.each([
    ["no traceparent", {}],
    ["a malformed one", { traceparent: "00-xyz-01" }],
    ["all-zero ids", { traceparent: `00-${"0".repeat(32)}-${"0".repeat(16)}-01` }],
  ])("carry none with %s", (_name, headers) => {
    const fields = describeMessage(withHeaders(headers));
    expect(fields.traceId).toBeUndefined();
    expect(fields.spanId).toBeUndefined();
  });
});
