import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { sign } from "hono/jwt";
import postgres from "postgres";
import { allModules } from "../support/all-modules";
import { loadConfig } from "../../shared/config";
import { createLogger } from "../../shared/logger";
import { startServer } from "../../shared/server";
import { eventually } from "../../shared/testing/eventually";
import { createTestDatabase } from "../../shared/testing/postgres";
import { launchChromium } from "../support/chromium";
import { json, placeOrder, watchOrders } from "../support/walkthrough";

/**
 * Authentication end to end: the whole system in this process (mono, memory bus, a fresh PostgreSQL
 * database) with AUTH=jwt, once with an HS256 secret and once with a JWKS served by the test.
 */

const secret = "an-end-to-end-secret-of-at-least-32-characters";
const cleanups: (() => Promise<unknown>)[] = [];
let baseUrl: string;
let sql: postgres.Sql;

afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch((error: unknown) => console.error(error));
});

async function startSystem(env: Record<string, string>): Promise<{ url: string; databaseUrl: string }> {
  const database = await createTestDatabase();
  cleanups.push(() => database.drop());
  const config = loadConfig({ PORT: "0", DATABASE_URL: database.url, AUTH: "jwt", ...env }, allModules);
  const server = await startServer(config, allModules, {
    logger: createLogger({ level: "error" }),
  });
  cleanups.push(() => server.stop());
  return { url: `http://127.0.0.1:${server.port}`, databaseUrl: database.url };
}

beforeAll(async () => {
  const system = await startSystem({ JWT_SECRET: secret });
  baseUrl = system.url;
  sql = postgres(system.databaseUrl, { max: 1, onnotice: () => {} });
  cleanups.push(() => sql.end());
}, 60_000);

const seconds = () => Math.floor(Date.now() / 1000);
const tokenFor = (userId: string, extra: Record<string, unknown> = {}) => sign({ sub: userId, iat: seconds(), exp: seconds() + 600, ...extra }, secret, "HS256");
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

async function call(method: string, path: string, token: string | undefined, body?: unknown): Promise<Response> {
  return fetch(`${baseUrl}${path}`, {
    method,
    headers: { ...(token && bearer(token)), ...(body !== undefined && { "content-type": "application/json" }) },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
}

/** A user with an account and a balance, acting with their own token. */
async function newUser(balance: number): Promise<{ userId: string; token: string }> {
  const userId = crypto.randomUUID();
  const token = await tokenFor(userId);
  expect((await call("POST", "/api/accounts", token, { userId })).status).toBe(201);
  if (balance > 0) expect((await call("POST", `/api/accounts/${userId}/deposit`, token, { amount: balance })).status).toBe(200);
  return { userId, token };
}

/** The status of a WebSocket upgrade attempt: refusals are answered before the upgrade, as plain HTTP. */
async function upgradeStatus(url: string, query: string): Promise<{ status: number; body: string }> {
  const response = await fetch(`${url}/ws?${query}`, {
    headers: { upgrade: "websocket", connection: "Upgrade", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==", "sec-websocket-version": "13" },
  });
  return { status: response.status, body: await response.text() };
}

/** Places an order and waits until it is paid, so nothing changes behind a test's back afterwards. */
async function paidOrder(user: { userId: string; token: string }, amount: number): Promise<{ id: string }> {
  const order = await placeOrder(baseUrl, user.userId, amount, bearer(user.token));
  await eventually(
    async () => ((await (await call("GET", `/api/orders/${order.id}`, user.token)).json()) as { status: string }).status === "PaymentCompleted",
    15_000,
    "the order to be paid",
  );
  return order;
}

async function rowCounts(): Promise<Record<string, number>> {
  const [row] = await sql`select
    (select count(*) from orders.orders)::int as orders,
    (select count(*) from orders.orders where status <> 'PaymentCompleted')::int as unpaid_orders,
    (select count(*) from orders.outbox)::int as orders_outbox,
    (select count(*) from payments.accounts)::int as accounts,
    (select count(*) from payments.ledger)::int as ledger`;
  return { ...row } as Record<string, number>;
}

describe("AUTH=jwt with an HS256 secret", () => {
  test("every /api route refuses a missing, expired, forged or alg-none token with 401, and writes nothing", async () => {
    const alice = await newUser(100);
    const order = await paidOrder(alice, 1);
    const routes: [method: string, path: string, template: string, body?: unknown][] = [
      ["POST", "/api/orders", "/api/orders", { userId: alice.userId, amount: 5, description: "refused" }],
      ["GET", `/api/orders?userId=${alice.userId}`, "/api/orders"],
      ["GET", `/api/orders/${order.id}`, "/api/orders/{id}"],
      ["POST", `/api/orders/${order.id}/cancel`, "/api/orders/{id}/cancel"],
      ["POST", "/api/accounts", "/api/accounts", { userId: crypto.randomUUID() }],
      ["GET", `/api/accounts/${alice.userId}`, "/api/accounts/{userId}"],
      ["POST", `/api/accounts/${alice.userId}/deposit`, "/api/accounts/{userId}/deposit", { amount: 50 }],
      ["GET", `/api/accounts/${alice.userId}/ledger`, "/api/accounts/{userId}/ledger"],
      ["GET", "/api/admin/dead-letters", "/api/admin/dead-letters"],
      ["GET", `/api/admin/dead-letters/${order.id}`, "/api/admin/dead-letters/{id}"],
      ["POST", `/api/admin/dead-letters/${order.id}/redrive`, "/api/admin/dead-letters/{id}/redrive"],
      ["POST", `/api/admin/dead-letters/${order.id}/discard`, "/api/admin/dead-letters/{id}/discard"],
      ["POST", "/api/admin/dead-letters/redrive", "/api/admin/dead-letters/redrive", {}],
    ];
    // The list is every documented /api operation except the open GET /api/auth and GET /api/services: a new route must join it.
    const document = (await (await fetch(`${baseUrl}/openapi.json`)).json()) as { paths: Record<string, Record<string, { security?: unknown }>> };
    const documented = Object.entries(document.paths)
      .filter(([path]) => path.startsWith("/api/") && path !== "/api/auth" && path !== "/api/services")
      .flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`));
    expect(documented.sort()).toEqual(routes.map(([method, , template]) => `${method} ${template}`).sort());

    const badTokens: [name: string, token: string | undefined][] = [
      ["no token", undefined],
      ["an expired token", await tokenFor(alice.userId, { iat: seconds() - 600, exp: seconds() - 60 })],
      ["a token signed with another secret", await sign({ sub: alice.userId, iat: seconds(), exp: seconds() + 600 }, "another-secret-another-secret-another-secret", "HS256")],
      ["an alg-none token", `${base64url({ alg: "none", typ: "JWT" })}.${base64url({ sub: alice.userId, iat: seconds(), exp: seconds() + 600, roles: ["admin"] })}.`],
    ];
    const before = await rowCounts();
    for (const [name, token] of badTokens) {
      for (const [method, path, , body] of routes) {
        const response = await call(method, path, token, body);
        const what = `${method} ${path} with ${name}`;
        expect(response.status, what).toBe(401);
        expect(response.headers.get("content-type"), what).toBe("application/problem+json");
        const challenge = response.headers.get("www-authenticate") ?? "";
        expect(challenge, what).toStartWith("Bearer ");
        if (token) expect(challenge, what).toContain('error="invalid_token"');
        const problem = (await response.json()) as { status: number; detail: string };
        expect(problem.status, what).toBe(401);
        if (token) expect(problem.detail, what).not.toContain(token);
      }
    }
    expect(await rowCounts()).toEqual(before);
    const balance = (await (await call("GET", `/api/accounts/${alice.userId}`, alice.token)).json()) as { balance: number };
    expect(balance.balance).toBe(99);
  }, 30_000);

  test("a user cannot touch another user's account, orders or WebSocket; an admin may act for anyone", async () => {
    const alice = await newUser(100);
    const bob = await newUser(20);
    const bobsOrder = await paidOrder(bob, 1);
    const before = await rowCounts();

    const forbidden: [method: string, path: string, body?: unknown][] = [
      ["POST", "/api/orders", { userId: bob.userId, amount: 5, description: "on Bob's account" }],
      ["GET", `/api/orders?userId=${bob.userId}`],
      ["POST", "/api/accounts", { userId: crypto.randomUUID() }],
      ["GET", `/api/accounts/${bob.userId}`],
      ["POST", `/api/accounts/${bob.userId}/deposit`, { amount: 5 }],
      ["GET", `/api/accounts/${bob.userId}/ledger`],
      // The path is lower-cased by the router, the token's sub compared lower-cased: no way round.
      ["GET", `/api/accounts/${bob.userId.toUpperCase()}`],
    ];
    for (const [method, path, body] of forbidden) {
      const response = await call(method, path, alice.token, body);
      expect(response.status, `${method} ${path}`).toBe(403);
      expect(response.headers.get("content-type")).toBe("application/problem+json");
    }
    // Another user's order is not found, exactly like a missing one; nor can it be cancelled.
    const foreignOrder = await call("GET", `/api/orders/${bobsOrder.id}`, alice.token);
    const missingOrder = await call("GET", `/api/orders/${crypto.randomUUID()}`, alice.token);
    expect([foreignOrder.status, missingOrder.status]).toEqual([404, 404]);
    const foreignCancel = await call("POST", `/api/orders/${bobsOrder.id}/cancel`, alice.token);
    const missingCancel = await call("POST", `/api/orders/${crypto.randomUUID()}/cancel`, alice.token);
    expect([foreignCancel.status, missingCancel.status]).toEqual([404, 404]);
    expect(await foreignCancel.json()).toEqual({ ...((await missingCancel.json()) as object), detail: `no order ${bobsOrder.id}` });
    expect((await call("GET", `/api/orders/${bobsOrder.id}`, bob.token)).status).toBe(200);
    expect(await rowCounts()).toEqual(before);

    expect(await upgradeStatus(baseUrl, `userId=${bob.userId}&access_token=${alice.token}`)).toMatchObject({ status: 403 });
    const admin = await tokenFor(crypto.randomUUID(), { roles: ["admin"] });
    const deposit = await call("POST", `/api/accounts/${bob.userId}/deposit`, admin, { amount: 30 });
    expect(deposit.status).toBe(200);
    expect(((await deposit.json()) as { balance: number }).balance).toBe(49);
    expect((await call("GET", `/api/orders?userId=${bob.userId}`, admin)).status).toBe(200);
    expect((await call("GET", `/api/orders/${bobsOrder.id}`, admin)).status).toBe(200);
    // The owner and an admin may cancel: Bob's paid order goes back to him.
    const adminsCancel = await call("POST", `/api/orders/${bobsOrder.id}/cancel`, admin);
    expect(adminsCancel.status).toBe(202);
    expect(((await adminsCancel.json()) as { status: string }).status).toBe("RefundPending");
    await eventually(
      async () => ((await (await call("GET", `/api/orders/${bobsOrder.id}`, bob.token)).json()) as { status: string }).status === "Refunded",
      15_000,
      "Bob's order refunded",
    );
    expect((await call("POST", `/api/orders/${bobsOrder.id}/cancel`, bob.token)).status).toBe(202);
  }, 30_000);

  test("the dead-letter admin API: no token 401, a user's token 403, an admin's token 200, also through bun run dlq", async () => {
    const user = await newUser(0);
    const admin = await tokenFor(crypto.randomUUID(), { roles: ["admin"] });
    const list = (token?: string) => call("GET", "/api/admin/dead-letters", token);
    expect((await list()).status).toBe(401);
    const forbidden = await list(user.token);
    expect(forbidden.status).toBe(403);
    expect(forbidden.headers.get("content-type")).toBe("application/problem+json");
    expect((await call("POST", "/api/admin/dead-letters/redrive", user.token, {})).status).toBe(403);
    const allowed = await list(admin);
    expect(allowed.status).toBe(200);
    expect(await allowed.json()).toEqual({ items: [], nextBefore: null });

    const dlq = async (...args: string[]) => {
      const child = Bun.spawn([process.execPath, "scripts/dlq.ts", ...args, "--url", baseUrl], { cwd: join(import.meta.dir, "../.."), stdout: "pipe", stderr: "pipe" });
      const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
      return { stdout: stdout.trim(), stderr: stderr.trim(), exitCode };
    };
    const withoutToken = await dlq("list");
    expect(withoutToken.exitCode).toBe(1);
    expect(withoutToken.stderr).toStartWith("dlq: GET /api/admin/dead-letters → 401 Unauthorized");
    const asUser = await dlq("list", "--token", user.token);
    expect(asUser.exitCode).toBe(1);
    expect(asUser.stderr).toContain("403 Forbidden");
    const asAdmin = await dlq("redrive-all", "--token", admin);
    expect(asAdmin).toEqual({ stdout: JSON.stringify({ redriven: 0 }), stderr: "", exitCode: 0 });
  }, 30_000);

  test("the WebSocket refuses a missing or bad token before the upgrade", async () => {
    const alice = await newUser(0);
    const missing = await upgradeStatus(baseUrl, `userId=${alice.userId}`);
    expect(missing.status).toBe(401);
    expect((JSON.parse(missing.body) as { status: number }).status).toBe(401);
    const expired = await tokenFor(alice.userId, { iat: seconds() - 600, exp: seconds() - 60 });
    expect((await upgradeStatus(baseUrl, `userId=${alice.userId}&access_token=${expired}`)).status).toBe(401);
    expect((await upgradeStatus(baseUrl, `userId=${alice.userId}&access_token=garbage`)).status).toBe(401);
    await expect(watchOrders(baseUrl, alice.userId)).rejects.toThrow("did not open");
  });

  test("a token's lifetime is bounded (JWT_MAX_TTL, 24h by default) and a fast issuer's clock is forgiven (JWT_CLOCK_SKEW, 30s)", async () => {
    const alice = await newUser(0);
    const read = (token: string) => call("GET", `/api/accounts/${alice.userId}`, token);
    expect((await read(await tokenFor(alice.userId, { iat: seconds() + 25, exp: seconds() + 600 }))).status).toBe(200);
    expect((await read(await tokenFor(alice.userId, { iat: seconds(), exp: seconds() + 86_400 }))).status).toBe(200);
    for (const [claims, reason] of [
      [{ iat: seconds(), exp: seconds() + 86_401 }, "its lifetime (exp - iat) is longer than the 1d accepted"],
      [{ iat: seconds(), exp: 99_999_999_999 }, "its lifetime (exp - iat) is longer than the 1d accepted"],
      [{ iat: undefined }, "it has no iat claim"],
    ] as const) {
      const refused = await read(await tokenFor(alice.userId, claims));
      expect(refused.status).toBe(401);
      expect(refused.headers.get("www-authenticate")).toContain(`error_description="${reason}"`);
    }
    const expired = await tokenFor(alice.userId, { iat: seconds() - 600, exp: seconds() - 60 });
    expect(await upgradeStatus(baseUrl, `userId=${alice.userId}&access_token=${expired}`)).toMatchObject({ status: 401 });
    const skewed = await tokenFor(alice.userId, { iat: seconds() + 25, exp: seconds() + 600 });
    const live = await watchOrders(baseUrl, alice.userId, `&access_token=${skewed}`);
    live.close();
  });

  test("only a token whose signature verified is told why it is refused", async () => {
    const alice = await newUser(0);
    const forger = "a-forgers-secret-of-at-least-32-characters";
    const refusal = async (token: string) => {
      const response = await call("GET", `/api/accounts/${alice.userId}`, token);
      return { status: response.status, challenge: response.headers.get("www-authenticate"), body: await response.json() };
    };
    const expiredClaims = { sub: alice.userId, iat: seconds() - 600, exp: seconds() - 60 };
    const generic = await refusal(await sign({ sub: alice.userId, iat: seconds(), exp: seconds() + 600 }, forger, "HS256"));
    expect(generic).toEqual({
      status: 401,
      challenge: 'Bearer realm="gozon", error="invalid_token"',
      body: { type: "about:blank", title: "Unauthorized", status: 401, detail: "The bearer token is invalid" },
    });
    expect(await refusal(await sign(expiredClaims, forger, "HS256"))).toEqual(generic);
    expect(await refusal(await sign({ ...expiredClaims, iat: seconds() - 90 * 86_400 }, forger, "HS256"))).toEqual(generic);
    const genuine = await refusal(await sign(expiredClaims, secret, "HS256"));
    expect(genuine.challenge).toContain('error_description="it has expired"');
    expect((genuine.body as { detail: string }).detail).toBe("The bearer token is refused: it has expired");
  });

  test("a user's own flow works end to end: account, deposit, order, PaymentCompleted on their WebSocket", async () => {
    const alice = await newUser(100);
    const live = await watchOrders(baseUrl, alice.userId, `&access_token=${alice.token}`);
    const order = await placeOrder(baseUrl, alice.userId, 40, bearer(alice.token));
    await eventually(() => live.updates.some((o) => o.id === order.id && o.status === "PaymentCompleted"), 15_000, "PaymentCompleted pushed");
    live.close();
    const ledger = (await (await call("GET", `/api/accounts/${alice.userId}/ledger`, alice.token)).json()) as { items: { kind: string }[] };
    expect(ledger.items.map((item) => item.kind)).toEqual(["debit", "deposit"]);
    const listed = (await (await call("GET", `/api/orders?userId=${alice.userId}`, alice.token)).json()) as { items: { id: string }[] };
    expect(listed.items.map((item) => item.id)).toEqual([order.id]);
  }, 30_000);

  test("health, metrics, docs, the document, the page, GET /api/auth and GET /api/services stay open", async () => {
    for (const path of ["/health/live", "/health/ready", "/metrics", "/docs", "/openapi.json", "/", "/index.html", "/api/auth", "/api/services"]) {
      expect((await fetch(`${baseUrl}${path}`)).status, path).toBe(200);
    }
    expect(await (await fetch(`${baseUrl}/api/auth`)).json()).toEqual({ auth: "jwt" });
    const document = (await (await fetch(`${baseUrl}/openapi.json`)).json()) as {
      components: { securitySchemes: Record<string, unknown> };
      paths: Record<string, Record<string, { security?: unknown }>>;
    };
    expect(document.components.securitySchemes.bearerAuth).toMatchObject({ type: "http", scheme: "bearer", bearerFormat: "JWT" });
    expect(document.paths["/api/accounts/{userId}/deposit"]?.post?.security).toEqual([{ bearerAuth: [] }]);
  });

  test("the status page asks for a token, shows a refusal, and works with the user's own token", async () => {
    const alice = await newUser(100);
    const bob = await newUser(0);
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      page.setDefaultTimeout(15_000);
      const errors: string[] = [];
      page.on("pageerror", (error) => errors.push(error.message));
      await page.goto(`${baseUrl}/`);
      await page.waitForSelector("#token", { state: "visible" });

      await page.fill("#user-id", alice.userId);
      await page.fill("#token", bob.token);
      await page.click("#user-form button[type=submit]");
      await page.waitForFunction(() => /may not act/.test(document.querySelector("#message")?.textContent ?? ""));

      await page.fill("#token", alice.token);
      await page.click("#user-form button[type=submit]");
      await page.waitForSelector("#connection.live");
      expect(await page.evaluate(() => localStorage.getItem("gozon.token"))).toBe(alice.token);
      await page.fill("#amount", "25");
      await page.fill("#description", "Tea");
      const [response] = await Promise.all([
        page.waitForResponse((candidate) => candidate.request().method() === "POST" && new URL(candidate.url()).pathname === "/api/orders"),
        page.click("#place"),
      ]);
      expect(response.status()).toBe(201);
      expect(response.request().headers().authorization).toBe(`Bearer ${alice.token}`);
      const order = (await response.json()) as { id: string };
      await page.waitForSelector(`tr[data-order-id="${order.id}"] [data-status="PaymentCompleted"]`);
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 45_000);
});

describe("AUTH=jwt with a JWKS URL", () => {
  test("a token the provider signed for this service is accepted; another key, kid, algorithm, issuer or audience is 401; the set is fetched once", async () => {
    const algorithm = { name: "ECDSA", namedCurve: "P-256" };
    const makeKey = async (kid: string) => {
      const pair = await crypto.subtle.generateKey(algorithm, true, ["sign", "verify"]);
      const publicJwk = { ...(await crypto.subtle.exportKey("jwk", pair.publicKey)), kid, alg: "ES256", use: "sig" };
      const privateJwk = { ...(await crypto.subtle.exportKey("jwk", pair.privateKey)), kid, alg: "ES256" };
      return { publicJwk, privateJwk };
    };
    const provider = await makeKey("key-1");
    const impostor = await makeKey("key-1");
    const stranger = await makeKey("key-2");
    let fetches = 0;
    const jwks = Bun.serve({
      port: 0,
      fetch: () => {
        fetches++;
        return Response.json({ keys: [provider.publicJwk] });
      },
    });
    cleanups.push(async () => jwks.stop(true));
    const system = await startSystem({
      JWT_JWKS_URL: `http://127.0.0.1:${jwks.port}/.well-known/jwks.json`,
      JWT_ISSUER: "https://id.example",
      JWT_AUDIENCE: "gozon",
    });

    const userId = crypto.randomUUID();
    const claims = { sub: userId, iat: seconds(), exp: seconds() + 600, iss: "https://id.example", aud: "gozon" };
    const createAccount = (token: string) => fetch(`${system.url}/api/accounts`, json({ userId }, bearer(token)));
    const reasonFor = async (token: string) => {
      const response = await createAccount(token);
      expect(response.status).toBe(401);
      expect(response.headers.get("www-authenticate")).toContain('error="invalid_token"');
      return ((await response.json()) as { detail: string }).detail;
    };

    // Not signed by the provider's key: one answer, whatever the claims say.
    const invalid = "The bearer token is invalid";
    expect(await reasonFor(await sign(claims, impostor.privateJwk))).toBe(invalid);
    expect(await reasonFor(await sign({ ...claims, iat: seconds() - 600, exp: seconds() - 60 }, impostor.privateJwk))).toBe(invalid);
    expect(await reasonFor(await sign({ ...claims, aud: "another-app" }, impostor.privateJwk))).toBe(invalid);
    expect(await reasonFor(await sign(claims, stranger.privateJwk))).toBe(invalid);
    expect(await reasonFor(await sign(claims, JSON.stringify(provider.publicJwk), "HS256"))).toBe(invalid);
    // Signed by the provider, for another application or by another of its issuers: told why.
    expect(await reasonFor(await sign({ ...claims, aud: "another-app" }, provider.privateJwk))).toBe("The bearer token is refused: its audience (aud) is not this service");
    expect(await reasonFor(await sign({ ...claims, aud: undefined }, provider.privateJwk))).toBe("The bearer token is refused: its audience (aud) is not this service");
    expect(await reasonFor(await sign({ ...claims, iss: "https://evil.example" }, provider.privateJwk))).toBe("The bearer token is refused: its issuer (iss) is not the expected one");

    const token = await sign(claims, provider.privateJwk);
    expect((await createAccount(token)).status).toBe(201);
    expect((await fetch(`${system.url}/api/accounts/${userId}`, { headers: bearer(token) })).status).toBe(200);
    expect((await upgradeStatus(system.url, `userId=${crypto.randomUUID()}&access_token=${token}`)).status).toBe(403);
    // Cached: the unknown kid "key-2" came within the refetch cooldown, so it did not fetch again either.
    expect(fetches).toBe(1);
  }, 60_000);
});
