import { describe, expect, test } from "bun:test";
import { eventually } from "../testing/eventually";
import { Admission, eventLoopQueue } from "./admission";
import { EventLoopDelay } from "./event-loop-delay";
import { OverloadedError } from "./overloaded-error";

/** Keeps the event loop busy (nothing else runs) for `ms`. */
function block(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // busy
  }
}

describe("EventLoopDelay", () => {
  test("rises when the loop is held up, and falls back once it runs freely", async () => {
    const delay = new EventLoopDelay(20);
    delay.start();
    try {
      await Bun.sleep(100);
      expect(delay.delayMs).toBeLessThan(20);
      block(400); // the next tick comes at least 380 ms late: a tenth of that lands in the average
      await eventually(() => delay.delayMs >= 38, 2_000, "the delay to rise");
      await eventually(() => delay.delayMs < 5, 5_000, "the delay to fall back");
    } finally {
      delay.stop();
    }
  });
});

describe("Admission with an event-loop bound", () => {
  test("every queue refuses while the loop is late past the bound, and admits again once it is not", () => {
    const loop = { delayMs: 0 };
    const admission = new Admission({ eventLoop: { delay: loop, maxDelayMs: 50 } });
    const intake = admission.queue<number>("intake", { maxQueue: 100, maxWaitMs: 60_000 });
    const gate = admission.gate("requests", { concurrency: 5, maxQueue: 100, maxWaitMs: 60_000 });
    intake.push(1);
    loop.delayMs = 51;
    let refusal: unknown;
    try {
      intake.push(2);
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toBeInstanceOf(OverloadedError);
    expect((refusal as OverloadedError).queue).toBe(eventLoopQueue);
    expect(() => gate.assertRoom()).toThrow(OverloadedError);
    expect(gate.run(async () => "ran")).rejects.toBeInstanceOf(OverloadedError);
    expect(admission.shedding()).toEqual([eventLoopQueue]);
    expect(intake.depth).toBe(1);
    loop.delayMs = 49;
    intake.push(2);
    expect(intake.take(5)).toEqual([1, 2]);
  });
});
