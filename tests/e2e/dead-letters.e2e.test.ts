import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import Redis from "ioredis";
import { sql } from "kysely";
import { deadLetterTopic } from "../../shared/bus/bus";
import { StreamKeys } from "../../shared/bus/redis-streams/stream-entries";
import { newEnvelope, orderCreatedTopic } from "../../shared/contracts";
import { eventually } from "../../shared/testing/eventually";
import { BusStreams } from "../support/bus-streams";
import { checkInvariants, openModuleDatabases, statusesOf, type ModuleDatabases } from "../support/invariants";
import { SplitSystem } from "../support/split-system";
import { openAccount, placeOrder } from "../support/walkthrough";
import type { DeadLetterItem } from "../../scripts/dlq/format";
import { testRedisUrl } from "../../shared/testing/redis";

/**
 * Dead letters on the real thing: the split system (two processes, a PostgreSQL database each,
 * Redis), a fault injected into the payments database from outside the code (a trigger that
 * refuses one user's debits), the dead letter seen, re-driven and discarded through `bun run dlq`
 * against the running payments process, and the recorder killed with -9 mid-recording.
 */
const root = join(import.meta.dir, "../..");
const cleanups: (() => Promise<unknown>)[] = [];
let system: SplitSystem;
let databases: ModuleDatabases;
let redis: Redis;

beforeAll(async () => {
  system = await SplitSystem.start(testRedisUrl);
  cleanups.push(() => system.cleanup());
  databases = await openModuleDatabases(system.databaseUrls);
  cleanups.push(() => databases.close());
  redis = new Redis(testRedisUrl, { maxRetriesPerRequest: 1 });
  redis.on("error", () => {});
  cleanups.push(async () => redis.disconnect());
}, 60_000);

afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch((error) => console.error("cleanup failed:", error));
}, 60_000);

/** `bun run dlq -- …` as an operator runs it (stdout is a pipe here, so it answers JSON). */
async function dlq(...args: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const child = Bun.spawn([process.execPath, "scripts/dlq.ts", ...args, "--url", system.urls.payments], {
    cwd: root,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "" },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { exitCode, stdout: stdout.trim(), stderr: stderr.trim() };
}

async function dlqJson<T>(...args: string[]): Promise<T> {
  const result = await dlq(...args);
  if (result.exitCode !== 0) throw new Error(`dlq ${args.join(" ")} exited ${result.exitCode}: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

/** What the CLI prints with --json: the admin API's answers. */
type Item = DeadLetterItem;

const ledgerOf = async (userId: string) =>
  (await sql<{ kind: string; amount: number; order_id: string | null }>`select kind, amount, order_id from payments.ledger where user_id = ${userId}::uuid order by id`.execute(databases.payments)).rows;
const balanceOf = async (userId: string) =>
  (await sql<{ balance: number }>`select balance from payments.accounts where user_id = ${userId}::uuid`.execute(databases.payments)).rows[0]!.balance;
const duplicatesSkipped = async () => (await system.counters("payments")).duplicatesSkipped;

async function gauge(state: string): Promise<number> {
  const text = await (await fetch(`${system.urls.payments}/metrics`)).text();
  const line = text.split("\n").find((row) => row.startsWith(`gozon_dead_letters{module="payments",topic="order-created",state="${state}"}`));
  return Number(line?.split(" ").at(-1));
}

describe("a payment that fails every time becomes a dead letter an operator can see, re-drive and discard", () => {
  test("dead-lettered with its error, order PaymentPending; fault removed, re-driven: paid once; re-driven again: nothing; discarded: 409", async () => {
    const unlucky = await openAccount(system.urls.payments, 100);
    const lucky = await openAccount(system.urls.payments, 100);
    // The fault, from outside the code under test: the payments database refuses this user's debits.
    await sql.raw(`
      create function public.refuse_debit() returns trigger language plpgsql as $$
      begin raise exception 'fault injected by the test: no debit for user %', new.user_id; end $$;
      create trigger refuse_debit before insert on payments.ledger for each row
        when (new.kind = 'debit' and new.user_id = '${unlucky}') execute function public.refuse_debit();`).execute(databases.payments);
    const order = await placeOrder(system.urls.orders, unlucky, 30);
    const others = [await placeOrder(system.urls.orders, lucky, 10), await placeOrder(system.urls.orders, lucky, 20)];

    const listed = async () => (await dlqJson<{ items: Item[] }>("list", "--topic", orderCreatedTopic)).items;
    await eventually(async () => (await listed()).some((item) => item.key === unlucky), 30_000, "the order's payment to be dead-lettered and listed");
    const [deadLetter] = (await listed()).filter((item) => item.key === unlucky);
    expect(deadLetter).toMatchObject({ module: "payments", topic: orderCreatedTopic, subject: order.id, state: "pending", replayCount: 0, attempts: 5 });
    // Found by what it is about: the order.
    expect((await dlqJson<{ items: Item[] }>("list", "--subject", order.id)).items.map((item) => item.id)).toEqual([deadLetter!.id]);
    expect((await dlqJson<{ items: Item[] }>("list", "--subject", others[0]!.id)).items).toEqual([]);
    expect(deadLetter!.error).toContain(`fault injected by the test: no debit for user ${unlucky}`);
    const shown = await dlqJson<Item>("show", deadLetter!.id);
    expect(JSON.parse(shown.message!)).toMatchObject({ id: deadLetter!.id, type: orderCreatedTopic, payload: { orderId: order.id } });
    // Everything else flowed on; the unlucky order waits, nothing debited.
    await eventually(async () => [...(await statusesOf(databases, others.map((o) => o.id))).values()].every((s) => s === "PaymentCompleted"), 20_000, "the other orders paid");
    expect((await statusesOf(databases, [order.id])).get(order.id)).toBe("PaymentPending");
    expect(await ledgerOf(unlucky)).toEqual([{ kind: "deposit", amount: 10_000, order_id: null }]);
    expect(await gauge("pending")).toBe(1);

    // The fault is fixed; the operator re-drives.
    await sql.raw(`drop trigger refuse_debit on payments.ledger; drop function public.refuse_debit();`).execute(databases.payments);
    expect(await dlqJson<Item>("redrive", deadLetter!.id)).toMatchObject({ id: deadLetter!.id, state: "redriven", replayCount: 1 });
    await eventually(async () => (await statusesOf(databases, [order.id])).get(order.id) === "PaymentCompleted", 20_000, "the re-driven order to be paid");
    expect(await ledgerOf(unlucky)).toEqual([
      { kind: "deposit", amount: 10_000, order_id: null },
      { kind: "debit", amount: 3_000, order_id: order.id },
    ]);
    expect(await balanceOf(unlucky)).toBe(7_000);

    // Again: the inbox knows the envelope id, so nothing happens a second time.
    const skippedBefore = await duplicatesSkipped();
    expect(await dlqJson<Item>("redrive", deadLetter!.id)).toMatchObject({ state: "redriven", replayCount: 2 });
    await eventually(async () => (await duplicatesSkipped()) > skippedBefore, 20_000, "the second re-drive to be consumed and skipped");
    expect((await ledgerOf(unlucky)).filter((row) => row.kind === "debit")).toHaveLength(1);
    expect(await balanceOf(unlucky)).toBe(7_000);
    expect((await statusesOf(databases, [order.id])).get(order.id)).toBe("PaymentCompleted");

    // Discarded: kept for the record, never re-driven.
    expect(await dlqJson<Item>("discard", deadLetter!.id)).toMatchObject({ state: "discarded" });
    const refused = await dlq("redrive", deadLetter!.id);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain("409 Conflict");
    expect(refused.stderr.split("\n")).toHaveLength(1);
    const problem = await fetch(`${system.urls.payments}/api/admin/dead-letters/${deadLetter!.id}/redrive`, { method: "POST" });
    expect(problem.status).toBe(409);
    expect(problem.headers.get("content-type")).toBe("application/problem+json");
    expect(await gauge("discarded")).toBe(1);
    expect(await gauge("pending")).toBe(0);

    const report = await checkInvariants(databases, [order.id, ...others.map((o) => o.id)]);
    expect(report.violations).toEqual([]);
  }, 120_000);

  test("the CLI on errors: an unknown id, a bad id, an unreachable server: one line each, a non-zero exit", async () => {
    const unknown = await dlq("show", randomUUID());
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toMatch(/^dlq: GET \/api\/admin\/dead-letters\/[0-9a-f-]+ → 404 Not Found: no dead letter/);
    const bad = await dlq("discard", "42");
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toBe('dlq: discard: the id must be a UUID, got "42"');
    const child = Bun.spawn([process.execPath, "scripts/dlq.ts", "list", "--url", "http://127.0.0.1:9"], { cwd: root, stdout: "pipe", stderr: "pipe" });
    const [stderr, exitCode] = await Promise.all([new Response(child.stderr).text(), child.exited]);
    expect(exitCode).toBe(1);
    expect(stderr.trim()).toStartWith("dlq: cannot reach http://127.0.0.1:9:");
    expect(stderr.trim().split("\n")).toHaveLength(1);
  }, 30_000);
});

describe("recording survives a crash", () => {
  test("kill -9 between the dead-letter topic and the table loses nothing; dead-lettered again it is still one row", async () => {
    // Poison that keeps its envelope id (valid JSON, a payload that fails the schema): dead-lettered at once.
    const userId = randomUUID();
    const poison = JSON.stringify(newEnvelope(orderCreatedTopic, userId, { orderId: randomUUID(), userId, amount: -5, description: "poison" }));
    const id = (JSON.parse(poison) as { id: string }).id;
    const streams = new BusStreams(redis, system.prefix);
    const keys = new StreamKeys(system.prefix, 8);
    const pendingOnDeadLetterTopic = async () => {
      let total = 0;
      for (const stream of keys.streams(deadLetterTopic(orderCreatedTopic))) {
        const summary = (await redis.call("XPENDING", stream, "payments.dead-letters").catch(() => [0])) as unknown[];
        total += Number(summary[0]);
      }
      return total;
    };
    const row = async () =>
      (await sql<{ state: string; last_failed_at: Date; error: string; subject: string | null }>`select state, last_failed_at, error, subject from payments.dead_letters where id = ${id}::uuid`.execute(databases.payments)).rows;

    // Asked on another session than the one holding the lock: pg_stat_activity is read once per transaction.
    const stuckRecorders = async () =>
      (await sql<{ count: number }>`select count(*)::int as count from pg_stat_activity
        where datname = current_database() and wait_event_type = 'Lock' and query like '%dead_letters%'`.execute(databases.payments)).rows[0]!.count;

    // The payments process's recorder gets stuck in its INSERT while the test holds the table.
    await databases.payments.connection().execute(async (holder) => {
      await sql`begin`.execute(holder);
      await sql`lock table payments.dead_letters in exclusive mode`.execute(holder);
      try {
        await streams.republish(orderCreatedTopic, [{ key: userId, value: poison }]);
        await eventually(async () => (await stuckRecorders()) > 0, 30_000, "the recorder to be stuck on the table");
        // On the dead-letter topic, delivered to the recorder, not acknowledged, not in the table.
        expect(await pendingOnDeadLetterTopic()).toBe(1);
        await system.crashAndRestart("payments");
        expect(await row()).toEqual([]);
      } finally {
        await sql`rollback`.execute(holder);
      }
    });
    // The restarted process takes the dead member's partitions over (lease) and records it.
    await eventually(async () => (await row()).length === 1, 40_000, "the dead letter to be recorded after the crash");
    const [first] = await row();
    expect(first!.state).toBe("pending");
    expect(first!.error).toContain("PoisonMessageError");
    // Its payload fails the schema, but the order it names is still read.
    expect(first!.subject).toBe((JSON.parse(poison) as { payload: { orderId: string } }).payload.orderId);
    await eventually(async () => (await pendingOnDeadLetterTopic()) === 0, 20_000, "the dead-letter message to be acknowledged");

    // The same message again: dead-lettered a second time, the same row, updated.
    await streams.republish(orderCreatedTopic, [{ key: userId, value: poison }]);
    await eventually(async () => (await row())[0]!.last_failed_at > first!.last_failed_at, 20_000, "the second dead-lettering to update the row");
    expect(await row()).toHaveLength(1);
  }, 120_000);
});
