import { describe, expect, test } from "bun:test";
import { checkClaims, ClaimsRefused, type ClaimRules } from "./token-claims";

const nowMs = Date.UTC(2026, 10, 1, 12, 0, 0);
const now = nowMs / 1000;
const rules: ClaimRules = { maxTtlMs: 3_600_000, clockSkewMs: 30_000, issuer: "https://id.example", audience: "gozon" };
const good = { sub: "someone", iss: "https://id.example", aud: "gozon", iat: now - 60, exp: now + 600 };

function reasonFor(claims: unknown, overrides: Partial<ClaimRules> = {}): string | null {
  try {
    checkClaims(claims, { ...rules, ...overrides }, nowMs);
    return null;
  } catch (error) {
    expect(error).toBeInstanceOf(ClaimsRefused);
    return (error as Error).message;
  }
}

describe("checkClaims", () => {
  test.each<[string, unknown, string | null]>([
    ["good claims", good, null],
    ["an aud list that holds the audience", { ...good, aud: ["other", "gozon"] }, null],
    ["an exp 30 s ago (the skew)", { ...good, exp: now - 30 }, "it has expired"],
    ["an exp 29 s ago", { ...good, exp: now - 29 }, null],
    ["an iat 30 s ahead", { ...good, iat: now + 30 }, null],
    ["an iat 31 s ahead", { ...good, iat: now + 31 }, "it is issued in the future"],
    ["an nbf 30 s ahead", { ...good, nbf: now + 30 }, null],
    ["an nbf 31 s ahead", { ...good, nbf: now + 31 }, "it is not valid yet"],
    ["a lifetime of exactly the maximum", { ...good, iat: now, exp: now + 3_600 }, null],
    ["a lifetime a second over it", { ...good, iat: now, exp: now + 3_601 }, "its lifetime (exp - iat) is longer than the 1h accepted"],
    ["an exp in the year 5138", { ...good, exp: 99_999_999_999 }, "its lifetime (exp - iat) is longer than the 1h accepted"],
    ["an exp before the iat", { ...good, iat: now + 20, exp: now + 10 }, "its exp is not after its iat"],
    ["no exp", { ...good, exp: undefined }, "it has no exp claim"],
    ["no iat", { ...good, iat: undefined }, "it has no iat claim"],
    ["an exp that is a string", { ...good, exp: String(now + 600) }, "its exp claim is not a NumericDate"],
    ["an iat that is null", { ...good, iat: null }, "its iat claim is not a NumericDate"],
    ["another issuer", { ...good, iss: "https://evil.example" }, "its issuer (iss) is not the expected one"],
    ["no issuer", { ...good, iss: undefined }, "its issuer (iss) is not the expected one"],
    ["another audience", { ...good, aud: "other" }, "its audience (aud) is not this service"],
    ["no audience", { ...good, aud: undefined }, "its audience (aud) is not this service"],
    ["a payload that is a list", [good], "its payload is not a JSON object"],
    ["a payload that is null", null, "its payload is not a JSON object"],
  ])("%s", (_name, claims, reason) => {
    expect(reasonFor(claims)).toBe(reason);
  });

  test("without an issuer or audience configured, any iss and aud pass", () => {
    expect(reasonFor({ ...good, iss: "https://any.example", aud: undefined }, { issuer: undefined, audience: undefined })).toBeNull();
  });
});
