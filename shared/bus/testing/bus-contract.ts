import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { deadLetterTopic, PoisonMessageError, type Abortable, type Bus, type BusFeatures, type Delivery } from "../bus";
import type { RetryPolicy } from "../delivery";
import { eventually } from "../../testing/eventually";

export interface ContractMember extends Bus, Abortable {}

export interface ContractAdapter {
  features: BusFeatures;
  /** When set, the suite is skipped and this reason is printed. */
  skip?: string;
  /** A new member (think: a new process) over the namespace's broker state. */
  create(options: { namespace: string; retryPolicy: RetryPolicy }): Promise<ContractMember>;
  /** Removes what a namespace left on the broker. */
  cleanup?(namespace: string): Promise<void>;
  /** How long a dead member's partitions may take to move to a live one. Default 15 s. */
  takeoverTimeoutMs?: number;
}

const retryPolicy: RetryPolicy = { maxAttempts: 3, baseBackoffMs: 20, maxBackoffMs: 200 };

/**
 * The one contract every bus adapter passes unchanged (docs/architecture.md#bus). Each test uses
 * fresh topic names; capabilities an adapter does not promise are skipped, never special-cased by
 * name.
 */
export function busContract(name: string, adapter: ContractAdapter): void {
  if (adapter.skip) {
    console.warn(`bus contract "${name}" skipped: ${adapter.skip}`);
    describe.skip(`bus contract: ${name} (skipped: ${adapter.skip})`, () => {
      test("skipped", () => {});
    });
    return;
  }
  const namespace = `gozon-test-${randomUUID().slice(0, 8)}`;
  const members: ContractMember[] = [];
  const takeover = adapter.takeoverTimeoutMs ?? 15_000;
  let topicCounter = 0;
  const freshTopic = () => `${namespace}.topic-${++topicCounter}`;
  const member = async () => {
    const created = await adapter.create({ namespace, retryPolicy });
    members.push(created);
    return created;
  };
  const message = (key: string, value: string, headers?: Record<string, string>) => ({ key, value, headers });

  describe(`bus contract: ${name}`, () => {
    afterEach(async () => {
      await Promise.all(members.splice(0).map((m) => m.close().catch(() => {})));
    });
    afterAll(async () => {
      await adapter.cleanup?.(namespace);
    });

    test("a new group receives what was published before it joined, with key, value and headers", async () => {
      const topic = freshTopic();
      const producer = await member();
      await producer.publish(topic, [message("k1", "one", { trace: "t-1" }), message("k1", "two")]);
      const consumer = await member();
      const seen: Delivery[] = [];
      await consumer.subscribe(topic, "g", async (m) => void seen.push(m));
      await eventually(() => seen.length === 2, takeover, "both messages");
      expect(seen.map((m) => [m.key, m.value])).toEqual([["k1", "one"], ["k1", "two"]]);
      expect(seen[0]!.headers.trace).toBe("t-1");
      expect(seen[0]!.topic).toBe(topic);
      expect(seen[0]!.attempt).toBe(1);
    });

    test("an acknowledged message is not delivered again to the group", async () => {
      const topic = freshTopic();
      const first = await member();
      const seen: string[] = [];
      await first.subscribe(topic, "g", async (m) => void seen.push(m.value));
      await first.publish(topic, Array.from({ length: 10 }, (_, i) => message(`k${i}`, `m${i}`)));
      await eventually(() => seen.length === 10, takeover, "ten messages");
      await first.close();

      const second = await member();
      const again: string[] = [];
      await second.subscribe(topic, "g", async (m) => void again.push(m.value));
      await second.publish(topic, [message("k0", "marker")]);
      await eventually(() => again.includes("marker"), takeover, "the marker");
      expect(again).toEqual(["marker"]);
    });

    test("a message whose handler has not resolved is not acknowledged: a dying member's message goes to another", async () => {
      const topic = freshTopic();
      const dying = await member();
      let started = false;
      await dying.subscribe(topic, "g", async () => {
        started = true;
        await new Promise(() => {}); // never finishes: the process dies first
      });
      await dying.publish(topic, [message("k", "in-flight")]);
      await eventually(() => started, takeover, "the first member to start the handler");
      await dying.abort();

      const survivor = await member();
      const seen: string[] = [];
      await survivor.subscribe(topic, "g", async (m) => void seen.push(m.value));
      await eventually(() => seen.includes("in-flight"), takeover, "redelivery to the survivor");
    }, 60_000);

    test.skipIf(!adapter.features.consumerGroups)("members of one group share the messages, each handled once", async () => {
      const topic = freshTopic();
      const handledBy = new Map<string, string[]>();
      const record = (who: string) => async (m: Delivery) => {
        handledBy.set(m.value, [...(handledBy.get(m.value) ?? []), who]);
      };
      const a = await member();
      const b = await member();
      await a.subscribe(topic, "g", record("a"));
      await b.subscribe(topic, "g", record("b"));
      // Publish until both members have work (partitions may take a moment to spread).
      let round = 0;
      await eventually(async () => {
        await a.publish(topic, Array.from({ length: 20 }, (_, i) => message(`warm-${round}-${i}`, `warm-${round}-${i}`)));
        round++;
        const who = new Set([...handledBy.values()].flat());
        return who.has("a") && who.has("b");
      }, takeover, "both members to receive messages");

      const values = Array.from({ length: 100 }, (_, i) => `steady-${i}`);
      await a.publish(topic, values.map((v) => message(`key-${v}`, v)));
      await eventually(() => values.every((v) => handledBy.has(v)), takeover, "all steady messages");
      for (const v of values) expect(handledBy.get(v)).toHaveLength(1);
      const shares = new Set(values.map((v) => handledBy.get(v)![0]));
      expect(shares).toEqual(new Set(["a", "b"]));
    }, 60_000);

    test.skipIf(!adapter.features.orderedPerKey)("messages with one key are handled in publish order, across members", async () => {
      const topic = freshTopic();
      const order = new Map<string, number[]>();
      const handler = async (m: Delivery) => {
        await Bun.sleep(Math.random() * 3);
        const [key, seq] = m.value.split(":") as [string, string];
        order.set(key, [...(order.get(key) ?? []), Number(seq)]);
      };
      const a = await member();
      const b = await member();
      await a.subscribe(topic, "g", handler);
      await b.subscribe(topic, "g", handler);
      const keys = ["alpha", "beta", "gamma", "delta"];
      for (let seq = 0; seq < 60; seq += 10) {
        const batch = keys.flatMap((key) => Array.from({ length: 10 }, (_, i) => message(key, `${key}:${seq + i}`)));
        await (seq % 20 === 0 ? a : b).publish(topic, batch);
      }
      await eventually(() => keys.every((key) => new Set(order.get(key)).size === 60), takeover, "all messages");
      for (const key of keys) {
        const firstSeen = [...new Set(order.get(key))];
        expect(firstSeen).toEqual(Array.from({ length: 60 }, (_, i) => i));
      }
    }, 60_000);

    test("a failing handler is retried with backoff, then dead-lettered; the messages behind it flow on", async () => {
      const topic = freshTopic();
      const consumer = await member();
      const attempts: number[] = [];
      const handled: string[] = [];
      await consumer.subscribe(topic, "g", async (m) => {
        if (m.value === "bad") {
          attempts.push(Date.now());
          throw new Error("cannot handle bad");
        }
        handled.push(m.value);
      });
      const dead: Delivery[] = [];
      await consumer.subscribe(deadLetterTopic(topic), "dlq-reader", async (m) => void dead.push(m));
      await consumer.publish(topic, [message("same", "before"), message("same", "bad"), message("same", "after")]);

      await eventually(() => dead.length === 1 && handled.includes("after"), takeover, "dead letter and the next message");
      expect(handled).toEqual(["before", "after"]);
      expect(attempts).toHaveLength(retryPolicy.maxAttempts);
      // Backoff doubles from the base: waits of at least 20 ms then 40 ms (lower bounds only).
      expect(attempts[1]! - attempts[0]!).toBeGreaterThanOrEqual(retryPolicy.baseBackoffMs - 2);
      expect(attempts[2]! - attempts[1]!).toBeGreaterThanOrEqual(2 * retryPolicy.baseBackoffMs - 2);
      expect(dead[0]!.value).toBe("bad");
      expect(dead[0]!.key).toBe("same");
      expect(dead[0]!.headers["x-error"]).toContain("cannot handle bad");
      expect(dead[0]!.headers["x-attempts"]).toBe(String(retryPolicy.maxAttempts));
      expect(dead[0]!.headers["x-original-topic"]).toBe(topic);
    }, 30_000);

    test("a handler that fails once gets the message again and is not dead-lettered", async () => {
      const topic = freshTopic();
      const consumer = await member();
      const seenAttempts: number[] = [];
      await consumer.subscribe(topic, "g", async (m) => {
        seenAttempts.push(m.attempt);
        if (m.attempt === 1) throw new Error("transient");
      });
      const dead: Delivery[] = [];
      await consumer.subscribe(deadLetterTopic(topic), "dlq-reader", async (m) => void dead.push(m));
      await consumer.publish(topic, [message("k", "flaky"), message("k", "next")]);
      await eventually(() => seenAttempts.length === 4, takeover, "two messages, each retried once");
      expect(seenAttempts).toEqual([1, 2, 1, 2]);
      await consumer.publish(deadLetterTopic(topic), [message("k", "probe")]);
      await eventually(() => dead.length > 0, takeover, "the dead-letter probe");
      expect(dead.map((m) => m.value)).toEqual(["probe"]);
    }, 30_000);

    test("a poison message goes to the dead-letter topic without retries", async () => {
      const topic = freshTopic();
      const consumer = await member();
      let calls = 0;
      await consumer.subscribe(topic, "g", async () => {
        calls++;
        throw new PoisonMessageError("not a valid envelope");
      });
      const dead: Delivery[] = [];
      await consumer.subscribe(deadLetterTopic(topic), "dlq-reader", async (m) => void dead.push(m));
      await consumer.publish(topic, [message("k", "{garbage")]);
      await eventually(() => dead.length === 1, takeover, "the dead letter");
      expect(calls).toBe(1);
      expect(dead[0]!.headers["x-attempts"]).toBe("1");
    });

    test("batches keep each partition's messages in order; a failing batch is retried message by message", async () => {
      const topic = freshTopic();
      const consumer = await member();
      const batches: string[][] = [];
      const handled: string[] = [];
      await consumer.subscribeBatch(
        topic,
        "g",
        async (batch) => {
          batches.push(batch.map((m) => m.value));
          if (batch.some((m) => m.value === "k:bad")) throw new Error("bad in batch");
          handled.push(...batch.map((m) => m.value));
        },
        { maxBatchSize: 4 },
      );
      const dead: Delivery[] = [];
      await consumer.subscribe(deadLetterTopic(topic), "dlq-reader", async (m) => void dead.push(m));
      const values = ["k:0", "k:1", "k:bad", "k:3", "k:4", "k:5", "k:6"];
      await consumer.publish(topic, values.map((v) => message("k", v)));
      await eventually(() => dead.length === 1 && handled.includes("k:6"), takeover, "all but the bad one");
      expect([...new Set(handled)]).toEqual(values.filter((v) => v !== "k:bad"));
      for (const batch of batches) expect(batch.length).toBeLessThanOrEqual(4);
      expect(batches.some((batch) => batch.length > 1)).toBe(true);
      expect(dead[0]!.value).toBe("k:bad");
    }, 30_000);

    test.skipIf(!adapter.features.broadcast)("broadcast: every subscriber receives every later message, in order", async () => {
      const topic = freshTopic();
      const a = await member();
      const b = await member();
      await a.publish(topic, [message("k", "before")]);
      const seenA: string[] = [];
      const seenB: string[] = [];
      await a.subscribeBroadcast(topic, async (m) => void seenA.push(m.value));
      await b.subscribeBroadcast(topic, async (m) => void seenB.push(m.value));
      const values = Array.from({ length: 20 }, (_, i) => `b${i}`);
      await a.publish(topic, values.map((v) => message("k", v)));
      await eventually(() => seenA.length >= 20 && seenB.length >= 20, takeover, "both subscribers");
      expect(seenA).toEqual(values);
      expect(seenB).toEqual(values);
    });

    test("close lets the in-flight handler finish and acknowledges it, then fetches nothing more", async () => {
      const topic = freshTopic();
      const first = await member();
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const finished: string[] = [];
      let started = false;
      await first.subscribe(topic, "g", async (m) => {
        started = true;
        await gate;
        finished.push(m.value);
      });
      await first.publish(topic, [message("k", "slow")]);
      await eventually(() => started, takeover, "the handler to start");
      const closing = first.close();
      let closed = false;
      void closing.then(() => (closed = true));
      await Bun.sleep(50);
      expect(closed).toBe(false);
      release();
      await closing;
      expect(finished).toEqual(["slow"]);

      const second = await member();
      const seen: string[] = [];
      await second.subscribe(topic, "g", async (m) => void seen.push(m.value));
      await second.publish(topic, [message("k", "after-close")]);
      await eventually(() => seen.includes("after-close"), takeover, "the next message");
      expect(seen).toEqual(["after-close"]);
      expect(finished).toEqual(["slow"]);
    }, 30_000);
  });
}
