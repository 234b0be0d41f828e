import { createRequire } from "node:module";

/**
 * A fix applied to kafkajs 2.2.4 (frozen) in this process, as its unmerged upstream pull requests
 * propose (tulios/kafkajs#1751, #1704, #1768).
 *
 * After every response, kafkajs's RequestQueue schedules a check of its pending requests at
 * `throttledUntil - Date.now()`. Unthrottled, `throttledUntil` is -1, so with nothing pending it
 * passes minus the current time as a duration: `setTimeout(check, -1795995214549)`. Bun (and
 * Node 24) print a TimeoutNegativeWarning and run it after 1 ms, and the check schedules itself
 * again, so every broker connection polls every millisecond for as long as it lives.
 *
 * With nothing pending and no throttle to wait out there is nothing to schedule: `push()` sends at
 * once or schedules the check itself, and every answered or timed-out request checks the queue.
 * In every other case the original runs, and its delay is then never negative.
 */
interface RequestQueue {
  pending: unknown[];
  throttledUntil: number;
  scheduleCheckPendingRequests(): void;
}

const require = createRequire(import.meta.url);
// The module kafkajs's own Connection requires: same file, same class.
export const RequestQueueClass = require("kafkajs/src/network/requestQueue/index.js") as { prototype: RequestQueue };

const fixed = Symbol.for("gozon.kafkajs.scheduleCheckPendingRequests");
const prototype = RequestQueueClass.prototype as RequestQueue & { [fixed]?: true };
if (!prototype[fixed]) {
  const schedule = prototype.scheduleCheckPendingRequests;
  prototype.scheduleCheckPendingRequests = function (this: RequestQueue) {
    if (this.pending.length === 0 && this.throttledUntil <= Date.now()) return;
    schedule.call(this);
  };
  prototype[fixed] = true;
}
