import type { JWTPayload } from "hono/utils/jwt/types";

/** What the claims of a token must hold under AUTH=jwt. */
export interface ClaimRules {
  /** The `iss` a token must carry; any when undefined. */
  issuer?: string;
  /** A value the token's `aud` (a string or a list) must hold; any when undefined. */
  audience?: string;
}

/** A token whose signature verified but whose claims are not accepted; the message says why, in words safe to send back. */
export class ClaimsRefused extends Error {
  override name = "ClaimsRefused";
}

/**
 * The claims of a token whose signature has verified, once they pass `rules` at `nowMs`; throws
 * `ClaimsRefused` saying which failed. Call it only after the signature: the reason it gives
 * would tell the sender of a forged token which claim to change. `exp` is required (a token
 * without one would never expire); `nbf` and `iat` are checked when present.
 */
export function checkClaims(payload: unknown, rules: ClaimRules, nowMs: number): JWTPayload {
  if (typeof payload !== "object" || payload === null || Array.isArray(payload)) throw new ClaimsRefused("its payload is not a JSON object");
  const claims = payload as JWTPayload;
  const exp = numericDate(claims, "exp");
  if (exp === undefined) throw new ClaimsRefused("it has no exp claim");
  const nbf = numericDate(claims, "nbf");
  const iat = numericDate(claims, "iat");
  const now = nowMs / 1000;
  if (exp <= now) throw new ClaimsRefused("it has expired");
  if (nbf !== undefined && nbf > now) throw new ClaimsRefused("it is not valid yet");
  if (iat !== undefined && iat > now) throw new ClaimsRefused("it is issued in the future");
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
