import { describe, expect, test } from "bun:test";
import { DependencyUnavailableError, PoisonMessageError, type Delivery } from "./bus";
import { deliverBatch, type DeliveryContext } from "./delivery";

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
