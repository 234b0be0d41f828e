import { expect, test } from "bun:test";
import { Notifier } from "./notifier";

test("notify wakes every waiter at once (a missed waiter would sit out its 10-minute timeout)", async () => {
  const notifier = new Notifier();
  const woken: number[] = [];
  const waits = Array.from({ length: 8 }, (_, i) => notifier.wait(600_000).then(() => woken.push(i)));
  notifier.notify();
  await Promise.all(waits);
  expect(woken.sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
}, 5_000);
