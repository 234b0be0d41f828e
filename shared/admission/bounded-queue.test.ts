import { describe, expect, test } from "bun:test";
import { Admission } from "./admission";
import { BoundedQueue } from "./bounded-queue";
import { OverloadedError, RequestAbandonedError } from "./overloaded-error";

const roomy = { maxQueue: 100, maxWaitMs: 60_000 };

describe("BoundedQueue", () => {
  test("hands out what it holds oldest first, in batches", () => {
    const queue = new BoundedQueue<number>("q", roomy);
    for (const item of [1, 2, 3, 4, 5]) queue.push(item);
    expect(queue.take(2)).toEqual([1, 2]);
    expect(queue.depth).toBe(3);
    expect(queue.take(10)).toEqual([3, 4, 5]);
    expect(queue.take(10)).toEqual([]);
  });

  test("refuses the request past maxQueue at once, and admits again once one is taken", () => {
    const refusals: number[] = [];
    const queue = new BoundedQueue<number>("intake", { maxQueue: 2, maxWaitMs: 500 }, { refused: () => refusals.push(1) });
    queue.push(1);
    queue.push(2);
    const refused = (() => {
      try {
        queue.push(3);
      } catch (error) {
        return error;
      }
    })();
    expect(refused).toBeInstanceOf(OverloadedError);
    expect((refused as OverloadedError).queue).toBe("intake");
    expect((refused as OverloadedError).retryAfterSeconds).toBe(1);
    expect(refusals).toHaveLength(1);
    expect(queue.depth).toBe(2);
    expect(queue.take(1)).toEqual([1]);
    queue.push(3);
    expect(queue.take(5)).toEqual([2, 3]);
  });

  test("refuses while its oldest request has waited maxWaitMs, whatever its depth", async () => {
    const queue = new BoundedQueue<number>("q", { maxQueue: 100, maxWaitMs: 30 });
    queue.push(1);
    expect(() => queue.assertRoom()).not.toThrow();
    await Bun.sleep(40);
    expect(queue.state().oldestWaitMs).toBeGreaterThanOrEqual(30);
    expect(() => queue.push(2)).toThrow(OverloadedError);
    expect(queue.take(5)).toEqual([1]);
    expect(queue.state()).toEqual({ depth: 0, oldestWaitMs: 0 });
    queue.push(2); // an empty queue has no old request: admitted again
    expect(queue.depth).toBe(1);
  });

  test("asks a refused client to come back after the wait bound, in whole seconds (at least 1)", () => {
    expect(new BoundedQueue("q", { maxQueue: 1, maxWaitMs: 200 }).retryAfterSeconds).toBe(1);
    expect(new BoundedQueue("q", { maxQueue: 1, maxWaitMs: 2_500 }).retryAfterSeconds).toBe(3);
  });

  test("a request whose client goes away leaves the queue and is never taken", () => {
    const abandoned: string[] = [];
    const queue = new BoundedQueue<string>("q", { maxQueue: 2, maxWaitMs: 60_000 }, { abandoned: (item) => abandoned.push(item) });
    const client = new AbortController();
    queue.push("a");
    queue.push("b", client.signal);
    client.abort();
    expect(abandoned).toEqual(["b"]);
    expect(queue.depth).toBe(1);
    queue.push("c"); // its place is free again
    expect(queue.take(5)).toEqual(["a", "c"]);
    client.abort(); // twice is harmless
    expect(abandoned).toEqual(["b"]);
  });

  test("a request whose client has already gone is not queued", () => {
    const queue = new BoundedQueue<string>("q", roomy);
    expect(() => queue.push("a", AbortSignal.abort())).toThrow(RequestAbandonedError);
    expect(queue.depth).toBe(0);
  });

  test("a taken request no longer hears its client's signal", () => {
    const abandoned: string[] = [];
    const queue = new BoundedQueue<string>("q", roomy, { abandoned: (item) => abandoned.push(item) });
    const client = new AbortController();
    queue.push("a", client.signal);
    expect(queue.take(1)).toEqual(["a"]);
    client.abort();
    expect(abandoned).toEqual([]);
  });

  test("its oldest wait skips requests whose clients went away", async () => {
    const queue = new BoundedQueue<string>("q", roomy);
    const client = new AbortController();
    queue.push("gone", client.signal);
    await Bun.sleep(30);
    queue.push("fresh");
    client.abort();
    expect(queue.state().oldestWaitMs).toBeLessThan(30);
  });

  test("stays correct across many pushes and takes (its storage is compacted)", () => {
    const queue = new BoundedQueue<number>("q", { maxQueue: 5_000, maxWaitMs: 60_000 });
    let next = 0;
    let expected = 0;
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 3_000; i++) queue.push(next++);
      for (const item of queue.take(2_999)) expect(item).toBe(expected++);
    }
    expect(queue.depth).toBe(50);
    expect(queue.take(100)).toEqual(Array.from({ length: 50 }, (_, i) => expected + i));
  });
});

describe("Admission", () => {
  test("lists each queue's state and which queues refused within its hold time", async () => {
    const admission = new Admission({ holdMs: 50 });
    const intake = admission.queue<number>("intake", { maxQueue: 1, maxWaitMs: 60_000 });
    admission.gate("requests", { concurrency: 1, maxQueue: 1, maxWaitMs: 60_000 });
    admission.watch("pool", () => ({ depth: 7, oldestWaitMs: 12 }));
    intake.push(1);
    expect(admission.shedding()).toEqual([]);
    expect(() => intake.push(2)).toThrow(OverloadedError);
    expect(admission.shedding()).toEqual(["intake"]);
    expect(admission.states().map(({ queue, depth }) => [queue, depth])).toEqual([["intake", 1], ["requests", 0], ["pool", 7]]);
    await Bun.sleep(60);
    expect(admission.shedding()).toEqual([]);
  });

  test("refuses a second queue of the same name", () => {
    const admission = new Admission();
    admission.queue("q", roomy);
    expect(() => admission.queue("q", roomy)).toThrow(/already/);
  });
});
