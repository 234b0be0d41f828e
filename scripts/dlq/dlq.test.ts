import { describe, expect, test } from "bun:test";
import { DlqError, parseDlqArgs } from "./args";
import { runDlq } from "./client";
import { formatDeadLetter, formatPage, type DeadLetterItem } from "./format";

const id = "0b6f5c1e-3f4a-4c55-9d0e-6a7b8c9d0e1f";

describe("bun run dlq: the command line", () => {
  test("commands, their options, and where url and token come from", () => {
    expect(parseDlqArgs(["--", "list", "--topic", "order-created", "--state", "pending"], {}, true)).toEqual({
      command: { name: "list", topic: "order-created", subject: undefined, state: "pending", limit: undefined, before: undefined },
      url: "http://127.0.0.1:8080",
      json: false,
    });
    expect(parseDlqArgs(["show", id, "--url", "http://payments:8081/", "--token", "t1"], { GOZON_TOKEN: "t2" }, true)).toMatchObject({
      command: { name: "show", id },
      url: "http://payments:8081",
      token: "t1",
    });
    expect(parseDlqArgs(["redrive-all", "--topic", "order-created", "--error", "quota"], { GOZON_URL: "http://h:1", GOZON_TOKEN: "t2" }, true)).toMatchObject({
      command: { name: "redrive-all", topic: "order-created", errorContains: "quota" },
      url: "http://h:1",
      token: "t2",
    });
  });

  test("list --subject asks the API for the dead letters about that subject only", async () => {
    const invocation = parseDlqArgs(["list", "--subject", id, "--topic", "order-created"], {}, false);
    expect(invocation.command).toMatchObject({ name: "list", subject: id, topic: "order-created" });
    const asked: string[] = [];
    const answer = { items: [], nextBefore: null };
    const fetchStub = (async (url: string) => {
      asked.push(url);
      return new Response(JSON.stringify(answer), { headers: { "content-type": "application/json" } });
    }) as unknown as typeof fetch;
    expect(await runDlq(invocation, fetchStub)).toBe(JSON.stringify(answer));
    expect(asked).toEqual([`http://127.0.0.1:8080/api/admin/dead-letters?topic=order-created&subject=${id}`]);
  });

  test("JSON when asked, or when the output is not a terminal", () => {
    expect(parseDlqArgs(["list"], {}, true).json).toBe(false);
    expect(parseDlqArgs(["list", "--json"], {}, true).json).toBe(true);
    expect(parseDlqArgs(["list"], {}, false).json).toBe(true);
  });

  test.each([
    [[], "no command"],
    [["purge"], 'unknown command "purge"'],
    [["show"], "show needs the dead letter's id"],
    [["redrive", "42"], "the id must be a UUID"],
    [["discard", id, id], "unexpected"],
    [["list", id], "list takes no id"],
    [["redrive-all", id], "redrive-all takes no id"],
    [["show", id, "--topic", "x"], "--topic does not go with show"],
    [["list", "--error", "x"], "--error does not go with list"],
    [["show", id, "--subject", "x"], "--subject does not go with show"],
    [["redrive-all", "--subject", "x"], "--subject does not go with redrive-all"],
    [["list", "--colour"], "--colour"],
    [["list", "--url", "ftp://h"], "--url expects an http(s) URL"],
  ])("refuses %p with one line and exit 2", (argv, message) => {
    let caught: unknown;
    try {
      parseDlqArgs(argv, {}, true);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(DlqError);
    expect((caught as DlqError).message).toContain(message);
    expect((caught as DlqError).message).not.toContain("\n");
    expect((caught as DlqError).exitCode).toBe(2);
  });
});

describe("bun run dlq: on a terminal", () => {
  const item: DeadLetterItem = {
    id,
    module: "payments",
    topic: "order-created",
    key: "user-1",
    subject: "5d9e0c1a-7b2f-4e3d-8a6b-1c2d3e4f5a6b",
    error: "Error: the ledger\nsaid no " + "x".repeat(100),
    attempts: 5,
    firstFailedAt: "2026-11-30T10:00:00.123Z",
    lastFailedAt: "2026-11-30T10:05:00.456Z",
    replayCount: 1,
    state: "pending",
  };

  test("a list is a table with aligned columns, one line per dead letter, errors cut short, and the next page's command", () => {
    const unreadable = { ...item, id: id.replace("0b6f", "ffff"), module: "orders", topic: "payment-processed", subject: null, state: "redriven" as const };
    const text = formatPage({ items: [item, unreadable], nextBefore: "C" });
    const lines = text.split("\n");
    expect(lines[0]).toMatch(/^ID\s+MODULE\s+TOPIC\s+SUBJECT\s+STATE\s+REPLAYS\s+ATTEMPTS\s+LAST FAILED\s+ERROR$/);
    expect(lines[1]).toContain(`${id}  payments  order-created      ${item.subject}  pending   1        5         2026-11-30 10:05:00Z  Error: the ledger said no`);
    expect(lines[1]!.endsWith("…")).toBe(true);
    expect(lines[2]!.indexOf("payment-processed")).toBe(lines[1]!.indexOf("order-created"));
    // No readable subject: a dash in its column.
    expect(lines[2]!.slice(lines[0]!.indexOf("SUBJECT")).startsWith("-  ")).toBe(true);
    expect(lines.at(-1)).toBe("more: bun run dlq -- list --before C");
    expect(formatPage({ items: [], nextBefore: null })).toBe("no dead letters");
  });

  test("one dead letter shows its fields, its message as indented JSON and its headers", () => {
    const text = formatDeadLetter({ ...item, message: '{"id":"x","payload":{"amount":5}}', headers: { "x-error": "boom" } });
    expect(text).toContain("state:        pending");
    expect(text).toContain(`subject:      ${item.subject}`);
    expect(text).toContain('message:\n{\n  "id": "x",\n  "payload": {\n    "amount": 5\n  }\n}');
    expect(text).toContain("headers:\n  x-error: boom");
  });
});
