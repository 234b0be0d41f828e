import { describe, expect, test } from "bun:test";
import { verify } from "hono/jwt";
import { loadConfig } from "../shared/config";
import { createTokenVerifier, type JwtAuthConfig } from "../shared/http/bearer-token";
import { mintToken, parseTtl, TokenScriptError } from "./token";

const secret = "a-development-secret-of-at-least-32-chars";
const user = "0B6F3C1E-8D2A-4C3B-9F1E-2A7D5C4B3A21";
const now = Date.UTC(2026, 10, 1);

describe("bun run token", () => {
  /** What the server makes of a token, with these settings. */
  const serverVerifies = (token: string, env: Record<string, string>) =>
    createTokenVerifier(loadConfig({ AUTH: "jwt", ...env }).auth as JwtAuthConfig).verify(token);

  test("mints an HS256 token for the user, an hour by default, that the server's verification accepts", async () => {
    const token = await mintToken(["--", "--user", user], { JWT_SECRET: secret }, Date.now());
    const claims = await serverVerifies(token, { JWT_SECRET: secret });
    expect(claims.sub).toBe(user.toLowerCase());
    expect(claims.roles).toBeUndefined();
    expect(Number(claims.exp) - Number(claims.iat)).toBe(3_600);
  });

  test("--admin adds the admin role; --ttl sets the lifetime; JWT_ISSUER and JWT_AUDIENCE become iss and aud", async () => {
    const env = { JWT_SECRET: secret, JWT_ISSUER: "https://id.example", JWT_AUDIENCE: "gozon" };
    const token = await mintToken(["--user", user, "--admin", "--ttl", "15m"], env, Date.now());
    const claims = await verify(token, secret, { alg: "HS256", iss: "https://id.example", aud: "gozon" });
    expect(claims.roles).toEqual(["admin"]);
    expect(Number(claims.exp) - Number(claims.iat)).toBe(900);
  });

  test("never mints a token longer-lived than JWT_MAX_TTL: the default shortens to it, a longer --ttl is refused", async () => {
    const env = { JWT_SECRET: secret, JWT_MAX_TTL: "30m" };
    const claims = await serverVerifies(await mintToken(["--user", user], env, Date.now()), env);
    expect(Number(claims.exp) - Number(claims.iat)).toBe(1_800);
    const longer = (await mintToken(["--user", user, "--ttl", "2h"], env, now).catch((caught: unknown) => caught)) as Error;
    expect(longer).toBeInstanceOf(TokenScriptError);
    expect(longer.message).toBe("--ttl 2h is longer than JWT_MAX_TTL (30m): the server would refuse the token");
    const overTheDefault = (await mintToken(["--user", user, "--ttl", "7d"], { JWT_SECRET: secret }, now).catch((caught: unknown) => caught)) as Error;
    expect(overTheDefault.message).toBe("--ttl 7d is longer than JWT_MAX_TTL (1d): the server would refuse the token");
    const allowed = { JWT_SECRET: secret, JWT_MAX_TTL: "7d" };
    expect((await serverVerifies(await mintToken(["--user", user, "--ttl", "7d"], allowed, Date.now()), allowed)).sub).toBe(user.toLowerCase());
  });

  test.each([
    ["no secret", ["--user", user], {}, "JWT_SECRET is unset"],
    ["a short secret", ["--user", user], { JWT_SECRET: "short" }, "JWT_SECRET (value hidden)"],
    ["no user", [], { JWT_SECRET: secret }, "--user is required"],
    ["a bad user", ["--user", "alice"], { JWT_SECRET: secret }, "--user expects a UUID"],
    ["a bad ttl", ["--user", user, "--ttl", "soon"], { JWT_SECRET: secret }, "--ttl expects a duration"],
    ["an unknown option", ["--usr", user], { JWT_SECRET: secret }, "--usr"],
    ["a bad JWT_MAX_TTL", ["--user", user], { JWT_SECRET: secret, JWT_MAX_TTL: "a day" }, 'JWT_MAX_TTL="a day"'],
  ])("refuses %s with one line", async (_name, argv, env, message) => {
    const minting = mintToken(argv, env, now);
    await expect(minting).rejects.toBeInstanceOf(TokenScriptError);
    const error = (await minting.catch((caught: unknown) => caught)) as Error;
    expect(error.message).toContain(message);
    expect(error.message).not.toContain("\n");
    if ("JWT_SECRET" in env) expect(error.message).not.toContain(env.JWT_SECRET!);
  });

  test.each([
    ["90", 90],
    ["90s", 90],
    ["30m", 1_800],
    ["1h", 3_600],
    ["7d", 604_800],
  ])("reads the ttl %s", (text, seconds) => {
    expect(parseTtl(text)).toBe(seconds);
  });

  test.each(["0", "0h", "1y", "-1h", "400d", ""])("refuses the ttl %p", (text) => {
    expect(() => parseTtl(text)).toThrow(TokenScriptError);
  });
});
