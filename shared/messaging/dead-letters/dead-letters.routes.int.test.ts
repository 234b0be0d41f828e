import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { sign } from "hono/jwt";
import { sql, type Kysely } from "kysely";
import type { OpenAPIHono } from "@hono/zod-openapi";
import { MemoryBus } from "../../bus/memory/memory-bus";
import { migrate } from "../../db";
import { createAuthPolicy } from "../../http/auth";
import { createApp } from "../../http/create-app";
import { createLogger } from "../../logger";
import { eventually } from "../../testing/eventually";
import { openTestDatabase, type TestDatabase } from "../../testing/postgres";
import { DeadLetters } from "./dead-letters";
import { deadLetterRoutes } from "./dead-letters.routes";
import { addDeadLetterSubjects, createDeadLettersTable } from "./dead-letters.tables";

/**
 * The dead-letter admin API over two modules' stores, as mono serves it: one route set, both
 * modules' dead letters listed together. On PGlite, the embedded default.
 */

const secret = "a-development-secret-of-at-least-32-chars";
const modules = [
  { module: "alpha", schema: "alpha", topic: "alpha-in" },
  { module: "beta", schema: "beta", topic: "beta-in" },
];

let testDatabase: TestDatabase<unknown>;
let bus: MemoryBus;
let app: OpenAPIHono;
const republished: { topic: string; value: string; headers: Record<string, string> }[] = [];
const db = () => testDatabase.database.kysely as Kysely<any>;

/** A dead letter as the recorder would have written it, failed `minutesAgo`, about `subject` (its `payload.ref`). */
async function deadLetter(schema: string, topic: string, minutesAgo: number, error = "Error: boom", subject: string | null = null): Promise<{ id: string; value: string }> {
  const id = randomUUID();
  const value = JSON.stringify({ id, key: "user-1", payload: { minutesAgo, ...(subject !== null && { ref: subject }) } });
  const at = new Date(Date.now() - minutesAgo * 60_000).toISOString();
  await sql`
    insert into ${sql.table(`${schema}.dead_letters`)} (id, topic, key, subject, message, headers, error, attempts, first_failed_at, last_failed_at, last_event)
    values (${id}::uuid, ${topic}, 'user-1', ${subject}::text, convert_to(${value}, 'UTF8'), ${JSON.stringify({ "x-error": error, traceparent: "00-abc-def-01" })},
      ${error}, 5, ${at}::timestamptz, ${at}::timestamptz, ${`test@${at}`})`.execute(db());
  return { id, value };
}

const problem = async (response: Response, status: number) => {
  expect(response.status).toBe(status);
  expect(response.headers.get("content-type")).toBe("application/problem+json");
  return (await response.json()) as { detail: string };
};
const post = (path: string, body?: unknown, headers: Record<string, string> = {}) =>
  app.request(path, {
    method: "POST",
    headers: { ...(body !== undefined && { "content-type": "application/json" }), ...headers },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });

function build(auth: ReturnType<typeof createAuthPolicy>): OpenAPIHono {
  const built = createApp({ logger: createLogger({ write: () => {} }) });
  const stores = modules.map(({ module, schema, topic }) => new DeadLetters({ module, db: db(), schema, bus, topics: [topic] }));
  built.route("/", deadLetterRoutes(stores, auth));
  return built;
}

beforeAll(async () => {
  testDatabase = await openTestDatabase("pglite");
  for (const { schema, topic } of modules) {
    const subjects = { [topic]: ["payload", "ref"] };
    await migrate(db(), { schema, migrations: { "001-dead-letters": { up: createDeadLettersTable }, "002-subjects": { up: (kysely) => addDeadLetterSubjects(kysely, subjects) } } });
  }
  bus = new MemoryBus();
  for (const { topic } of modules) {
    await bus.subscribe(topic, "observer", async (message) => void republished.push({ topic, value: message.value, headers: message.headers }));
  }
  app = build(createAuthPolicy({ kind: "none" }));
}, 30_000);

afterAll(async () => {
  await bus?.close();
  await testDatabase?.cleanup();
});

describe("listing", () => {
  test("both modules' dead letters together, newest failure first, page after page to the end", async () => {
    const made = [
      { ...(await deadLetter("alpha", "alpha-in", 50)), module: "alpha" },
      { ...(await deadLetter("beta", "beta-in", 40)), module: "beta" },
      { ...(await deadLetter("alpha", "alpha-in", 30)), module: "alpha" },
      { ...(await deadLetter("beta", "beta-in", 20)), module: "beta" },
      { ...(await deadLetter("beta", "beta-in", 10)), module: "beta" },
    ];
    const seen: { id: string; module: string }[] = [];
    let before: string | null = null;
    let pages = 0;
    do {
      const response = await app.request(`/api/admin/dead-letters?limit=2${before ? `&before=${encodeURIComponent(before)}` : ""}`);
      expect(response.status).toBe(200);
      const page = (await response.json()) as { items: { id: string; module: string }[]; nextBefore: string | null };
      seen.push(...page.items.map(({ id, module }) => ({ id, module })));
      before = page.nextBefore;
      pages++;
    } while (before && pages < 10);
    const newestFirst = made.reverse().map(({ id, module }) => ({ id, module }));
    expect(seen.filter((item) => newestFirst.some((made) => made.id === item.id))).toEqual(newestFirst);
    expect(new Set(seen.map((item) => item.id)).size).toBe(seen.length);
  });

  test("filtered by topic and by state", async () => {
    const alpha = await deadLetter("alpha", "alpha-in", 1);
    const beta = await deadLetter("beta", "beta-in", 1);
    await post(`/api/admin/dead-letters/${beta.id}/discard`);
    const list = async (query: string) =>
      ((await (await app.request(`/api/admin/dead-letters?${query}`)).json()) as { items: { id: string; topic: string; state: string }[] }).items;
    const alphaOnly = await list("topic=alpha-in&limit=500");
    expect(alphaOnly.every((item) => item.topic === "alpha-in")).toBe(true);
    expect(alphaOnly.map((item) => item.id)).toContain(alpha.id);
    const discarded = await list("state=discarded");
    expect(discarded.map((item) => item.id)).toEqual([beta.id]);
  });

  test("filtered by subject: the dead letters about it in every module, each listed with its subject", async () => {
    const [about, other] = [randomUUID(), randomUUID()];
    const alpha = await deadLetter("alpha", "alpha-in", 3, "Error: boom", about);
    const beta = await deadLetter("beta", "beta-in", 2, "Error: boom", about);
    await deadLetter("alpha", "alpha-in", 1, "Error: boom", other);
    await deadLetter("beta", "beta-in", 1);
    const list = async (query: string) =>
      ((await (await app.request(`/api/admin/dead-letters?${query}`)).json()) as { items: { id: string; module: string; subject: string | null }[] }).items;
    expect(await list(`subject=${about}`)).toEqual([expect.objectContaining({ id: beta.id, module: "beta", subject: about }), expect.objectContaining({ id: alpha.id, module: "alpha", subject: about })]);
    expect((await list(`subject=${about}&topic=alpha-in`)).map((item) => item.id)).toEqual([alpha.id]);
    expect(await list(`subject=${randomUUID()}`)).toEqual([]);
    // Unfiltered, each item carries its subject, null where none could be read.
    const all = await list("limit=500");
    expect(all.find((item) => item.id === alpha.id)!.subject).toBe(about);
    expect(all.filter((item) => item.subject === null).length).toBeGreaterThan(0);
    expect(await (await app.request(`/api/admin/dead-letters/${beta.id}`)).json()).toMatchObject({ id: beta.id, subject: about });
  });

  test("a bad filter or cursor is a 400 problem", async () => {
    for (const query of ["topic=nope", "state=lost", "subject=", `subject=${"x".repeat(201)}`, "limit=0", "limit=501", "limit=ten", "limit=0x10", "before=yesterday", "before=2026-13-45T10:00:00.000Z_0b6f5c1e-3f4a-4c55-9d0e-6a7b8c9d0e1f", "colour=red"]) {
      const body = await problem(await app.request(`/api/admin/dead-letters?${query}`), 400);
      expect(body.detail).toContain("query");
    }
  });
});

describe("one dead letter", () => {
  test("shown with its message and headers; an unknown id is 404, a malformed one 400", async () => {
    const { id, value } = await deadLetter("beta", "beta-in", 3, "Error: the ledger said no");
    const response = await app.request(`/api/admin/dead-letters/${id.toUpperCase()}`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ id, module: "beta", topic: "beta-in", error: "Error: the ledger said no", message: value, state: "pending", replayCount: 0, attempts: 5 });
    expect((await problem(await app.request(`/api/admin/dead-letters/${randomUUID()}`), 404)).detail).toContain("no dead letter");
    await problem(await app.request("/api/admin/dead-letters/42"), 400);
  });

  test("re-driven: 202, the original message published again to its topic; again: 202 and published again", async () => {
    const { id, value } = await deadLetter("alpha", "alpha-in", 2);
    const first = await post(`/api/admin/dead-letters/${id}/redrive`);
    expect(first.status).toBe(202);
    expect(await first.json()).toMatchObject({ id, state: "redriven", replayCount: 1 });
    await eventually(() => republished.filter((message) => message.value === value).length === 1, 5_000, "the message on alpha-in");
    const copy = republished.find((message) => message.value === value)!;
    expect(copy.topic).toBe("alpha-in");
    // Its own headers travel; the bus's dead-letter headers do not.
    expect(copy.headers).toMatchObject({ traceparent: "00-abc-def-01", "x-dead-letter-id": id });
    expect(copy.headers["x-error"]).toBeUndefined();
    const second = await post(`/api/admin/dead-letters/${id}/redrive`);
    expect(second.status).toBe(202);
    expect(await second.json()).toMatchObject({ replayCount: 2 });
    await eventually(() => republished.filter((message) => message.value === value).length === 2, 5_000, "the second copy");
  });

  test("discarded: 200, then a re-drive is refused with 409 and publishes nothing; unknown ids are 404", async () => {
    const { id, value } = await deadLetter("beta", "beta-in", 2);
    const discarded = await post(`/api/admin/dead-letters/${id}/discard`);
    expect(discarded.status).toBe(200);
    expect(await discarded.json()).toMatchObject({ id, state: "discarded" });
    expect((await problem(await post(`/api/admin/dead-letters/${id}/redrive`), 409)).detail).toContain("discarded");
    await problem(await post(`/api/admin/dead-letters/${randomUUID()}/redrive`), 404);
    await problem(await post(`/api/admin/dead-letters/${randomUUID()}/discard`), 404);
    await problem(await post("/api/admin/dead-letters/not-an-id/discard"), 400);
    expect(republished.some((message) => message.value === value)).toBe(false);
  });
});

describe("re-drive by filter", () => {
  test("every pending one that matches, across modules; {redriven: n}", async () => {
    const quota = [await deadLetter("alpha", "alpha-in", 1, "Error: Quota exceeded (42)"), await deadLetter("beta", "beta-in", 1, "Error: QUOTA EXCEEDED (43)")];
    const other = await deadLetter("beta", "beta-in", 1, "Error: something else");
    const response = await post("/api/admin/dead-letters/redrive", { errorContains: "quota exceeded" });
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({ redriven: 2 });
    for (const { value } of quota) await eventually(() => republished.some((message) => message.value === value), 5_000, "a quota one published again");
    expect(republished.some((message) => message.value === other.value)).toBe(false);
    expect(await (await post("/api/admin/dead-letters/redrive", { topic: "alpha-in", errorContains: "quota exceeded" })).json()).toEqual({ redriven: 0 });
  });

  test("a bad filter is a 400 problem and re-drives nothing", async () => {
    const pending = await deadLetter("alpha", "alpha-in", 1, "Error: still pending");
    for (const body of [{ topic: "nope" }, { errorContains: "" }, { errorContains: 7 }, { everything: true }, "all"]) {
      await problem(await post("/api/admin/dead-letters/redrive", body), 400);
    }
    // No body at all is not "no filter": {} has to be said.
    await problem(await post("/api/admin/dead-letters/redrive"), 415);
    expect(((await (await app.request(`/api/admin/dead-letters/${pending.id}`)).json()) as { state: string }).state).toBe("pending");
  });
});

describe("AUTH=jwt", () => {
  const token = (roles: string[]) => sign({ sub: randomUUID(), iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 600, roles }, secret, "HS256");

  test("no token 401, a user's token 403, an admin's token 200 on every admin route", async () => {
    const guarded = build(createAuthPolicy({ kind: "jwt", key: { secret }, maxTtlMs: 3_600_000, clockSkewMs: 30_000 }));
    const { id } = await deadLetter("alpha", "alpha-in", 1);
    const calls: [string, string, unknown?][] = [
      ["GET", "/api/admin/dead-letters"],
      ["GET", `/api/admin/dead-letters/${id}`],
      ["POST", `/api/admin/dead-letters/${id}/discard`],
      ["POST", `/api/admin/dead-letters/${id}/redrive`],
      ["POST", "/api/admin/dead-letters/redrive", { topic: "beta-in", errorContains: "matches nothing" }],
    ];
    const [user, admin] = [await token(["user"]), await token(["admin"])];
    const expected: Record<string, number> = { GET: 200, POST: 200 };
    for (const [method, path, body] of calls) {
      const call = (headers: Record<string, string>) =>
        guarded.request(path, { method, headers: { ...headers, ...(body !== undefined && { "content-type": "application/json" }) }, ...(body !== undefined && { body: JSON.stringify(body) }) });
      expect((await call({})).status).toBe(401);
      await problem(await call({ authorization: `Bearer ${user}` }), 403);
      const allowed = (await call({ authorization: `Bearer ${admin}` })).status;
      // The discarded dead letter's re-drive is refused: the admin got past the guard all the same.
      expect(allowed, `${method} ${path}`).toBe(path.endsWith(`${id}/redrive`) ? 409 : path.endsWith("/redrive") ? 202 : expected[method]!);
    }
  });

  test("the OpenAPI document declares the routes with their errors and the bearer scheme", async () => {
    const guarded = build(createAuthPolicy({ kind: "jwt", key: { secret }, maxTtlMs: 3_600_000, clockSkewMs: 30_000 }));
    const document = (await (await guarded.request("/openapi.json")).json()) as { paths: Record<string, Record<string, { responses: Record<string, unknown>; security?: unknown }>> };
    expect(Object.keys(document.paths).filter((path) => path.startsWith("/api/admin/")).sort()).toEqual([
      "/api/admin/dead-letters",
      "/api/admin/dead-letters/redrive",
      "/api/admin/dead-letters/{id}",
      "/api/admin/dead-letters/{id}/discard",
      "/api/admin/dead-letters/{id}/redrive",
    ]);
    const list = document.paths["/api/admin/dead-letters"]!.get! as unknown as { parameters: { name: string; in: string }[] };
    expect(list.parameters.map((parameter) => `${parameter.in}:${parameter.name}`)).toContain("query:subject");
    const schemas = (document as unknown as { components: { schemas: Record<string, { properties: Record<string, { type?: unknown; nullable?: boolean; anyOf?: unknown }> }> } }).components.schemas;
    expect(Object.keys(schemas.DeadLetterSummary!.properties)).toContain("subject");
    const redrive = document.paths["/api/admin/dead-letters/{id}/redrive"]!.post!;
    expect(Object.keys(redrive.responses).sort()).toEqual(["202", "400", "401", "403", "404", "409", "503"]);
    expect(redrive.security).toEqual([{ bearerAuth: [] }]);
  });
});
