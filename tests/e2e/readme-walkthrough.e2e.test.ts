import { afterAll, beforeAll, expect, test } from "bun:test";
import { readmeShellBlock } from "../support/readme";
import { startProcess, startTimeoutMs, type SystemProcess } from "../support/system-process";

// The README's walkthrough, run with bash exactly as written against `npm start`'s configuration
// (mono, embedded databases, memory bus). Only the address changes: the test's server listens on
// a free port instead of 8080.
let system: SystemProcess;
let baseUrl: string;

beforeAll(async () => {
  system = await startProcess({});
  baseUrl = await system.listening();
}, startTimeoutMs + 5_000);

afterAll(async () => {
  await system?.stop();
  await system?.cleanup();
});

test("the README walkthrough runs as written with bash and ends where it says", async () => {
  const script = readmeShellBlock("Walkthrough").replaceAll("localhost:8080", new URL(baseUrl).host);
  // A shell's usual PATH only: the walkthrough may use what a fresh Debian has (bash, coreutils, grep, curl).
  const shell = Bun.spawn(["bash", "-e", "-o", "pipefail", "-c", script], {
    env: { PATH: "/usr/local/bin:/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp" },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, status] = await Promise.all([new Response(shell.stdout).text(), new Response(shell.stderr).text(), shell.exited]);
  const context = `stdout:\n${stdout}\nstderr:\n${stderr}`;
  expect(stderr, context).toBe(""); // e.g. "uuidgen: command not found"
  expect(status, context).toBe(0);

  const userId = /\?userId=([0-9a-f-]{36})/.exec(stdout)?.[1];
  expect(userId, context).toBeDefined();
  const lines = stdout.trimEnd().split("\n").slice(1).map((line) => JSON.parse(line) as Record<string, unknown>);
  expect(lines[0]).toMatchObject({ userId, balance: 0 });
  expect(lines[1]).toEqual({ userId, balance: 1000 });
  expect(lines[2]).toMatchObject({ userId, amount: 250.5, description: "A book", status: "PaymentCompleted" });
  expect((lines[3] as { items: unknown[] }).items).toHaveLength(1);
  expect(lines[4]).toEqual({ userId, balance: 749.5 });
  expect((lines[5] as { items: { kind: string }[] }).items.map((item) => item.kind)).toEqual(["debit", "deposit"]);
  expect(lines[6]).toMatchObject({ userId, amount: 5000, status: "PaymentFailed", failureReason: "insufficient_funds" });
  // The cancel of the paid order: 202 with the refund in progress, then Refunded and the money back.
  expect(lines[7]).toMatchObject({ id: lines[2]!.id, userId, status: "RefundPending" });
  expect(lines[8]).toMatchObject({ id: lines[2]!.id, userId, status: "Refunded" });
  expect(lines[9]).toEqual({ userId, balance: 1000 });
  expect((lines[10] as { items: { kind: string }[] }).items.map((item) => item.kind)).toEqual(["refund", "debit", "deposit"]);
  expect(lines).toHaveLength(11);

  // What the walkthrough says the system now holds, read back through the API.
  expect(await (await fetch(`${baseUrl}/api/accounts/${userId}`)).json()).toEqual({ userId, balance: 1000 });
  const orders = (await (await fetch(`${baseUrl}/api/orders?userId=${userId}`)).json()) as { items: { status: string }[] };
  expect(orders.items.map((order) => order.status)).toEqual(["PaymentFailed", "Refunded"]);
}, 60_000);
