import { describe, expect, test } from "bun:test";
import { AdmissionGate } from "./admission-gate";
import { OverloadedError, RequestAbandonedError } from "./overloaded-error";

/** A task that runs until released, recording that it started. */
function heldTask(started: string[], name: string) {
  let release!: () => void;
  const done = new Promise<void>((resolve) => (release = resolve));
  const run = async () => {
    started.push(name);
    await done;
    return name;
  };
  return { run, release };
}

describe("AdmissionGate", () => {
  test("runs `concurrency` tasks at once, queues the next ones in order, refuses past the queue", async () => {
    const gate = new AdmissionGate("requests", { concurrency: 2, maxQueue: 1, maxWaitMs: 60_000 });
    const started: string[] = [];
    const [a, b, c] = ["a", "b", "c"].map((name) => heldTask(started, name)) as [ReturnType<typeof heldTask>, ReturnType<typeof heldTask>, ReturnType<typeof heldTask>];
    const runs = [gate.run(a.run), gate.run(b.run), gate.run(c.run)];
    await Bun.sleep(0);
    expect(started).toEqual(["a", "b"]);
    expect(gate.state().depth).toBe(1);
    let refused = false;
    await gate.run(async () => void started.push("d")).catch((error) => (refused = error instanceof OverloadedError));
    expect(refused).toBe(true);
    expect(() => gate.assertRoom()).toThrow(OverloadedError);
    a.release();
    await runs[0];
    await Bun.sleep(0);
    expect(started).toEqual(["a", "b", "c"]); // c got a's place; d never ran
    b.release();
    c.release();
    await Promise.all(runs);
    expect(gate.state().depth).toBe(0);
    expect(() => gate.assertRoom()).not.toThrow();
  });

  test("a task that throws frees its place", async () => {
    const gate = new AdmissionGate("requests", { concurrency: 1, maxQueue: 0, maxWaitMs: 60_000 });
    await expect(gate.run(async () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(await gate.run(async () => "ran")).toBe("ran");
  });

  test("a waiting task whose client goes away never runs, and frees its queue place", async () => {
    const gate = new AdmissionGate("requests", { concurrency: 1, maxQueue: 1, maxWaitMs: 60_000 });
    const started: string[] = [];
    const first = heldTask(started, "first");
    const running = gate.run(first.run);
    const client = new AbortController();
    const waiting = gate.run(async () => void started.push("abandoned"), client.signal);
    client.abort();
    await expect(waiting).rejects.toBeInstanceOf(RequestAbandonedError);
    const next = gate.run(async () => void started.push("next"));
    first.release();
    await Promise.all([running, next]);
    expect(started).toEqual(["first", "next"]);
  });
});
