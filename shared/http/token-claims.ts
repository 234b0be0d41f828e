import type { JWTPayload } from "hono/utils/jwt/types";
import { formatDuration } from "../duration";

/** What the claims of a token must hold under AUTH=jwt. */
export interface ClaimRules {
  /** The `iss` a token must carry; any when undefined. */
  issuer?: string;
  /** A value the token's `aud` (a string or a list) must hold; any when undefined. */
  audience?: string;
  /** The longest lifetime (`exp - iat`) accepted, in ms. */
  maxTtlMs: number;
  /** How far the issuer's clock and ours may disagree, in ms: `exp` is accepted this long after it passed, `nbf` and `iat` this long before they come. */
  clockSkewMs: number;
}

/** A token whose signature verified but whose claims are not accepted; the message says why, in words safe to send back. */
export class ClaimsRefused extends Error {
  override name = "ClaimsRefused";
}

/**
 * The claims of a token whose signature has verified, once they pass `rules` at `nowMs`; throws
 * `ClaimsRefused` saying which failed. Call it only after the signature: the reason it gives
 * would tell the sender of a forged token which claim to change. `exp` and `iat` are required, so
 * that every token's lifetime is known and bounded (a token without `exp` would never expire);
 * `nbf` is checked when present.
 */
export function checkClaims(payload: unknown, rules: ClaimRules, nowMs: number): JWTPayload {
  if (typeof payload !== "object" || payload === null || Array.isArray(payload)) throw new ClaimsRefused("its payload is not a JSON object");
  const claims = payload as JWTPayload;
  const exp = numericDate(claims, "exp");
  const iat = numericDate(claims, "iat");
  const nbf = numericDate(claims, "nbf");
  if (exp === undefined) throw new ClaimsRefused("it has no exp claim");
  if (iat === undefined) throw new ClaimsRefused("it has no iat claim");
  const skew = rules.clockSkewMs;
  if (exp * 1000 + skew <= nowMs) throw new ClaimsRefused("it has expired");
  if (nbf !== undefined && nbf * 1000 - skew > nowMs) throw new ClaimsRefused("it is not valid yet");
  if (iat * 1000 - skew > nowMs) throw new ClaimsRefused("it is issued in the future");
  if (exp <= iat) throw new ClaimsRefused("its exp is not after its iat");
  if ((exp - iat) * 1000 > rules.maxTtlMs) throw new ClaimsRefused(`its lifetime (exp - iat) is longer than the ${formatDuration(rules.maxTtlMs)} accepted`);
  if (rules.issuer !== undefined && claims.iss !== rules.issuer) throw new ClaimsRefused("its issuer (iss) is not the expected one");
  if (rules.audience !== undefined && ![claims.aud].flat().includes(rules.audience)) throw new ClaimsRefused("its audience (aud) is not this service");
  return claims;
}

/** A NumericDate claim (RFC 7519 §2: seconds since the epoch); undefined when absent, refused when not a finite number. */
function numericDate(claims: JWTPayload, name: "exp" | "nbf" | "iat"): number | undefined {
  const value: unknown = claims[name];
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isFinite(value)) throw new ClaimsRefused(`its ${name} claim is not a NumericDate`);
  return value;
}
