import { describe, expect, test } from "bun:test";
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { sign } from "hono/jwt";
import type { AuthConfig } from "../config";
import { createLogger } from "../logger";
import { authRoutes, createAuthPolicy, type AuthPolicy } from "./auth";
import { createApp } from "./create-app";

const secret = "a-development-secret-of-at-least-32-chars";
const alice = "0b6f3c1e-8d2a-4c3b-9f1e-2a7d5c4b3a21";
const bob = "7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f";
const now = () => Math.floor(Date.now() / 1000);
const inAnHour = () => now() + 3_600;

const readAccount = createRoute({
  method: "get",
  path: "/api/things/{userId}",
  request: { params: z.object({ userId: z.uuid() }) },
  responses: { 200: { description: "Found", content: { "application/json": { schema: z.object({ userId: z.string() }) } } } },
});

/** A module-like router on the real app shell: one protected route, one that forgets to protect. */
function build(config: AuthConfig) {
  const auth = createAuthPolicy(config);
  const routes = new OpenAPIHono();
  routes.openapi(auth.protect(readAccount), (c) => {
    const { userId } = c.req.valid("param");
    auth.assertMayActFor(c, userId);
    return c.json({ userId }, 200);
  });
  routes.get("/api/unprotected/:userId", (c) => c.json({ may: auth.mayActFor(c, c.req.param("userId")) }));
  routes.get("/ws", auth.authenticateWebSocket("access_token"), (c) => c.json({ caller: c.get("caller") ?? null }));
  const app = createApp({ logger: createLogger({ write: () => {} }) });
  app.route("/", authRoutes(auth));
  app.route("/", routes);
  return { app, auth };
}

const jwtConfig = (extra: Partial<Extract<AuthConfig, { kind: "jwt" }>> = {}): AuthConfig => ({
  kind: "jwt",
  key: { secret },
  maxTtlMs: 86_400_000,
  clockSkewMs: 30_000,
  ...extra,
});
const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });
const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

async function expectUnauthorized(response: Response, error?: string): Promise<void> {
  expect(response.status).toBe(401);
  expect(response.headers.get("content-type")).toBe("application/problem+json");
  const challenge = response.headers.get("www-authenticate") ?? "";
  expect(challenge).toStartWith("Bearer ");
  if (error) expect(challenge).toContain(`error="${error}"`);
  else expect(challenge).not.toContain("error=");
  expect(((await response.json()) as { status: number }).status).toBe(401);
}

describe("AUTH=none", () => {
  const { app, auth } = build({ kind: "none" });

  test("every request may act for any user, and GET /api/auth says so", async () => {
    expect(auth.kind).toBe("none");
    expect((await app.request(`/api/things/${alice}`)).status).toBe(200);
    expect(await (await app.request(`/api/unprotected/${bob}`)).json()).toEqual({ may: true });
    expect(await (await app.request("/ws")).json()).toEqual({ caller: null });
    expect(await (await app.request("/api/auth")).json()).toEqual({ auth: "none" });
  });

  test("the document declares no bearer scheme", async () => {
    const document = app.getOpenAPI31Document({ openapi: "3.1.0", info: { title: "t", version: "1" } });
    expect(document.components?.securitySchemes).toBeUndefined();
    expect(document.paths?.["/api/things/{userId}"]?.get?.security).toBeUndefined();
  });
});

describe("AUTH=jwt with an HS256 secret", () => {
  const { app } = build(jwtConfig());
  const tokenFor = (claims: Record<string, unknown>, key = secret) => sign({ iat: now(), exp: inAnHour(), ...claims }, key, "HS256");

  test("a good token acts for its own user; another user's id is 403", async () => {
    const token = await tokenFor({ sub: alice.toUpperCase() });
    expect(await (await app.request(`/api/things/${alice}`, bearer(token))).json()).toEqual({ userId: alice });
    const foreign = await app.request(`/api/things/${bob}`, bearer(token));
    expect(foreign.status).toBe(403);
    expect(foreign.headers.get("content-type")).toBe("application/problem+json");
  });

  test("an admin token acts for anyone", async () => {
    const token = await tokenFor({ sub: alice, roles: ["admin"] });
    expect((await app.request(`/api/things/${bob}`, bearer(token))).status).toBe(200);
  });

  test("no token is 401 with a bare challenge, before validation", async () => {
    await expectUnauthorized(await app.request(`/api/things/${alice}`));
    await expectUnauthorized(await app.request("/api/things/not-a-uuid"));
  });

  test("a header that is not Bearer is 401 invalid_request", async () => {
    await expectUnauthorized(await app.request(`/api/things/${alice}`, { headers: { authorization: "Basic YTpi" } }), "invalid_request");
  });

  test.each([
    ["expired", () => tokenFor({ sub: alice, exp: Math.floor(Date.now() / 1000) - 10 })],
    ["signed with another secret", () => tokenFor({ sub: alice }, "another-secret-another-secret-another")],
    ["alg none", async () => `${base64url({ alg: "none", typ: "JWT" })}.${base64url({ sub: alice, exp: inAnHour() })}.`],
    ["HS512 instead of HS256", () => sign({ sub: alice, iat: now(), exp: inAnHour() }, secret, "HS512")],
    ["without exp", () => sign({ sub: alice, iat: now() }, secret, "HS256")],
    ["with a sub that is not a UUID", () => tokenFor({ sub: "alice" })],
    ["not before its nbf", () => tokenFor({ sub: alice, nbf: inAnHour() })],
    ["garbage", async () => "not.a.token"],
  ])("a token %s is 401 invalid_token", async (_name, token) => {
    const response = await app.request(`/api/things/${alice}`, bearer(await token()));
    await expectUnauthorized(response, "invalid_token");
  });

  test("the refusal never echoes the token", async () => {
    const token = await tokenFor({ sub: alice, exp: 1 });
    const response = await app.request(`/api/things/${alice}`, bearer(token));
    expect(await response.text()).not.toContain(token.split(".")[1]!);
    expect(response.headers.get("www-authenticate")).not.toContain(token.split(".")[1]!);
  });

  test("the WebSocket form takes the token from Sec-WebSocket-Protocol (bearer, <JWT>) or the query, and knows when it expires", async () => {
    await expectUnauthorized(await app.request("/ws"));
    await expectUnauthorized(await app.request("/ws?access_token=nope"), "invalid_token");
    await expectUnauthorized(await app.request("/ws", { headers: { "sec-websocket-protocol": "bearer, nope" } }), "invalid_token");
    const exp = inAnHour();
    const token = await tokenFor({ sub: alice, exp });
    // Accepted until its exp plus the clock skew allowed (30 s here): the socket closes then.
    const caller = { userId: alice, admin: false, expiresAt: exp * 1_000 + 30_000 };
    expect(await (await app.request(`/ws?access_token=${token}`)).json()).toEqual({ caller });
    expect(await (await app.request("/ws", { headers: { "sec-websocket-protocol": `bearer, ${token}` } })).json()).toEqual({ caller });
    // Any other form would have its first protocol, perhaps the token, answered back: refused.
    for (const protocols of [token, `${token}, bearer`, "bearer", `bearer, ${token}, more`]) {
      const response = await app.request("/ws", { headers: { "sec-websocket-protocol": protocols } });
      expect(response.status, protocols).toBe(400);
      expect(await response.text()).not.toContain(token);
    }
  });

  test("a route that asks for the caller without protecting itself fails closed", async () => {
    const token = await tokenFor({ sub: alice });
    expect((await app.request(`/api/unprotected/${alice}`, bearer(token))).status).toBe(500);
  });

  test("GET /api/auth stays open and says jwt; the document declares the bearer scheme on protected routes", async () => {
    expect(await (await app.request("/api/auth")).json()).toEqual({ auth: "jwt" });
    const document = app.getOpenAPI31Document({ openapi: "3.1.0", info: { title: "t", version: "1" } });
    expect(document.components?.securitySchemes).toEqual({
      bearerAuth: expect.objectContaining({ type: "http", scheme: "bearer", bearerFormat: "JWT" }),
    });
    const operation = document.paths?.["/api/things/{userId}"]?.get;
    expect(operation?.security).toEqual([{ bearerAuth: [] }]);
    expect(Object.keys(operation?.responses ?? {})).toContain("401");
    expect(document.paths?.["/api/auth"]?.get?.security).toBeUndefined();
  });
});

describe("AUTH=jwt with an issuer and an audience", () => {
  const { app } = build(jwtConfig({ issuer: "https://id.example", audience: "gozon" }));
  const tokenFor = (claims: Record<string, unknown>) => sign({ sub: alice, iat: now(), exp: inAnHour(), ...claims }, secret, "HS256");

  test.each([
    ["the right iss and aud", { iss: "https://id.example", aud: "gozon" }, 200],
    ["aud in a list", { iss: "https://id.example", aud: ["other", "gozon"] }, 200],
    ["another issuer", { iss: "https://evil.example", aud: "gozon" }, 401],
    ["no issuer", { aud: "gozon" }, 401],
    ["another audience", { iss: "https://id.example", aud: "other" }, 401],
    ["no audience", { iss: "https://id.example" }, 401],
  ])("a token with %s", async (_name, claims, status) => {
    expect((await app.request(`/api/things/${alice}`, bearer(await tokenFor(claims)))).status).toBe(status);
  });
});

describe("AUTH=jwt: a token's lifetime is bounded, and the clocks may disagree a little", () => {
  const { app } = build(jwtConfig({ maxTtlMs: 2 * 3_600_000, clockSkewMs: 30_000 }));
  const statusOf = async (claims: Record<string, unknown>) => {
    const token = await sign({ sub: alice, ...claims }, secret, "HS256");
    const [api, socket] = [await app.request(`/api/things/${alice}`, bearer(token)), await app.request(`/ws?access_token=${token}`)];
    const reasons = [api, socket].map((response) => /error_description="([^"]*)"/.exec(response.headers.get("www-authenticate") ?? "")?.[1] ?? null);
    expect(socket.status).toBe(api.status);
    expect(reasons[1]).toBe(reasons[0]!);
    return { status: api.status, reason: reasons[0] };
  };

  test.each([
    ["without iat", () => ({ exp: inAnHour() }), "it has no iat claim"],
    ["that expires in the year 5138", () => ({ iat: now(), exp: 99_999_999_999 }), "its lifetime (exp - iat) is longer than the 2h accepted"],
    ["that lives a second longer than JWT_MAX_TTL", () => ({ iat: now(), exp: now() + 7_201 }), "its lifetime (exp - iat) is longer than the 2h accepted"],
    ["issued a minute in the future", () => ({ iat: now() + 60, exp: now() + 600 }), "it is issued in the future"],
    ["not valid for another minute", () => ({ iat: now(), nbf: now() + 60, exp: now() + 600 }), "it is not valid yet"],
    ["that expired a minute ago", () => ({ iat: now() - 600, exp: now() - 60 }), "it has expired"],
  ])("a token %s is refused", async (_name, claims, reason) => {
    expect(await statusOf(claims())).toEqual({ status: 401, reason });
  });

  test.each([
    ["that lives exactly JWT_MAX_TTL", () => ({ iat: now(), exp: now() + 7_200 })],
    ["issued 25 s in the future by a fast clock", () => ({ iat: now() + 25, exp: now() + 600 })],
    ["valid from 25 s in the future", () => ({ iat: now(), nbf: now() + 25, exp: now() + 600 })],
    ["that expired 25 s ago by a slow clock", () => ({ iat: now() - 600, exp: now() - 25 })],
  ])("a token %s is accepted", async (_name, claims) => {
    expect(await statusOf(claims())).toEqual({ status: 200, reason: null });
  });
});

describe("AUTH=jwt: a refusal says why only once the signature verified", () => {
  const { app } = build(jwtConfig({ issuer: "https://id.example", audience: "gozon" }));
  const good = { sub: alice, iss: "https://id.example", aud: "gozon", iat: now(), exp: inAnHour() };
  const forger = "a-forgers-secret-of-at-least-32-characters";
  const genericRefusal = {
    challenge: 'Bearer realm="gozon", error="invalid_token"',
    body: { type: "about:blank", title: "Unauthorized", status: 401, detail: "The bearer token is invalid" },
  };
  const refusalOf = async (response: Response) => ({ challenge: response.headers.get("www-authenticate"), body: await response.json() });

  test.each([
    ["a forged token that has expired", () => sign({ ...good, exp: now() - 60 }, forger, "HS256")],
    ["a forged token for another audience", () => sign({ ...good, aud: "other" }, forger, "HS256")],
    ["a forged token from another issuer", () => sign({ ...good, iss: "https://evil.example" }, forger, "HS256")],
    ["a forged token without exp", () => sign({ sub: alice, iss: good.iss, aud: good.aud, iat: now() }, forger, "HS256")],
    ["a forged token that lives for years", () => sign({ ...good, exp: now() + 100 * 365 * 86_400 }, forger, "HS256")],
    ["a forged token not valid yet", () => sign({ ...good, nbf: inAnHour() }, forger, "HS256")],
    ["a forged token with good claims", () => sign(good, forger, "HS256")],
    ["an alg-none token that has expired", async () => `${base64url({ alg: "none", typ: "JWT" })}.${base64url({ ...good, exp: now() - 60 })}.`],
    ["an HS512 token that has expired", () => sign({ ...good, exp: now() - 60 }, secret, "HS512")],
    ["garbage", async () => "not.a.token"],
  ])("%s gets the one generic 401, on the API and the WebSocket", async (_name, token) => {
    const minted = await token();
    expect(await refusalOf(await app.request(`/api/things/${alice}`, bearer(minted)))).toEqual(genericRefusal);
    expect(await refusalOf(await app.request(`/ws?access_token=${minted}`))).toEqual(genericRefusal);
  });

  test.each([
    ["that has expired", { exp: now() - 60 }, "it has expired"],
    ["for another audience", { aud: "other" }, "its audience (aud) is not this service"],
    ["from another issuer", { iss: "https://evil.example" }, "its issuer (iss) is not the expected one"],
    ["not valid yet", { nbf: inAnHour() }, "it is not valid yet"],
    ["without exp", { exp: undefined }, "it has no exp claim"],
    ["without iat", { iat: undefined }, "it has no iat claim"],
    ["whose sub is no user id", { sub: "alice" }, "its sub claim is not a user id (a UUID)"],
  ])("a well-signed token %s is told why", async (_name, claims, reason) => {
    const minted = await sign({ ...good, ...claims }, secret, "HS256");
    for (const response of [await app.request(`/api/things/${alice}`, bearer(minted)), await app.request(`/ws?access_token=${minted}`)]) {
      await expectUnauthorized(response.clone(), "invalid_token");
      expect(response.headers.get("www-authenticate")).toContain(`error_description="${reason}"`);
      expect(((await response.json()) as { detail: string }).detail).toBe(`The bearer token is refused: ${reason}`);
    }
  });
});

test("the policy's kind follows the configuration", () => {
  const policies: AuthPolicy[] = [createAuthPolicy({ kind: "none" }), createAuthPolicy(jwtConfig())];
  expect(policies.map((policy) => policy.kind)).toEqual(["none", "jwt"]);
});
