import { describe, expect, test } from "bun:test";
import { verify } from "hono/jwt";
import { mintToken, parseTtl, TokenScriptError } from "./token";

const secret = "a-development-secret-of-at-least-32-chars";
const user = "0B6F3C1E-8D2A-4C3B-9F1E-2A7D5C4B3A21";
const now = Date.UTC(2026, 10, 1);

describe("bun run token", () => {
  test("mints an HS256 token for the user, an hour by default, that the server's verification accepts", async () => {
    const token = await mintToken(["--", "--user", user], { JWT_SECRET: secret }, Date.now());
    const claims = await verify(token, secret, { alg: "HS256" });
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

  test.each([
    ["no secret", ["--user", user], {}, "JWT_SECRET is unset"],
    ["a short secret", ["--user", user], { JWT_SECRET: "short" }, "JWT_SECRET (value hidden)"],
    ["no user", [], { JWT_SECRET: secret }, "--user is required"],
    ["a bad user", ["--user", "alice"], { JWT_SECRET: secret }, "--user expects a UUID"],
    ["a bad ttl", ["--user", user, "--ttl", "soon"], { JWT_SECRET: secret }, "--ttl expects a duration"],
    ["an unknown option", ["--usr", user], { JWT_SECRET: secret }, "--usr"],
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
