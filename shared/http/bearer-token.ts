import { decode, verify, verifyWithJwks } from "hono/jwt";
import type { AsymmetricAlgorithm } from "hono/utils/jwt/jwa";
import type { VerifyOptions } from "hono/utils/jwt/jwt";
import type { JWTPayload } from "hono/utils/jwt/types";
import type { AuthConfig } from "../config";
import { RemoteKeySet } from "./remote-key-set";
import { checkClaims, ClaimsRefused, type ClaimRules } from "./token-claims";

/** Who sent a request, from a verified token. */
export interface Caller {
  /** The token's `sub`: a user id (UUID), lower-cased. */
  userId: string;
  /** The token's `roles` claim holds "admin": may act for any user. */
  admin: boolean;
  /** When the token stops being accepted (ms since the epoch: its `exp` plus the clock skew allowed): a WebSocket it opened closes then. */
  expiresAt: number;
}

export type JwtAuthConfig = Extract<AuthConfig, { kind: "jwt" }>;

/**
 * Verifies bearer tokens the way AUTH=jwt says: the signature first (HS256 with JWT_SECRET, or the
 * asymmetric keys of JWT_JWKS_URL), then the claims (`checkClaims`). A token whose `alg` is `none`,
 * or another algorithm than these, is refused.
 */
export interface TokenVerifier {
  /**
   * The claims of `token` once its signature verified and its claims were accepted. Throws
   * `ClaimsRefused` (its message safe to send back) when the signature verified but a claim did not
   * pass, `KeySetUnavailable` when the key set cannot be had, and any other error when the token
   * did not verify (malformed, forged, an algorithm not accepted): nothing in that one is for the
   * token's sender.
   */
  verify(token: string): Promise<JWTPayload>;
  /** How long after its `exp` a token is still accepted (JWT_CLOCK_SKEW), in ms. */
  readonly clockSkewMs: number;
}

/** Every asymmetric algorithm Hono verifies; a JWKS key that names its `alg` pins the token to it. */
const asymmetricAlgorithms: AsymmetricAlgorithm[] = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"];
/** Hono checks the header and the signature; left on, it would check `exp`, `nbf` and `iat` before the signature. */
const signatureOnly: VerifyOptions = { exp: false, nbf: false, iat: false };

export function createTokenVerifier(config: JwtAuthConfig): TokenVerifier {
  const rules: ClaimRules = {
    maxTtlMs: config.maxTtlMs,
    clockSkewMs: config.clockSkewMs,
    ...(config.issuer !== undefined && { issuer: config.issuer }),
    ...(config.audience !== undefined && { audience: config.audience }),
  };
  let verifySignature: (token: string) => Promise<JWTPayload>;
  if ("secret" in config.key) {
    const { secret } = config.key;
    verifySignature = (token) => verify(token, secret, { alg: "HS256", ...signatureOnly });
  } else {
    const keySet = new RemoteKeySet(config.key.jwksUrl);
    verifySignature = async (token) =>
      verifyWithJwks(token, { keys: await keySet.keysFor(keyIdOf(token)), allowedAlgorithms: asymmetricAlgorithms, verification: signatureOnly });
  }
  return { verify: async (token) => checkClaims(await verifySignature(token), rules, Date.now()), clockSkewMs: config.clockSkewMs };
}

/** The token in an `Authorization: Bearer <token>` header; undefined when there is none or it has another form. */
export function bearerTokenOf(header: string | undefined): string | undefined {
  const match = /^Bearer +([^\s]+)\s*$/i.exec(header ?? "");
  return match?.[1];
}

/** The `kid` of a token's header, read without verifying anything (to pick the key). */
function keyIdOf(token: string): string | undefined {
  try {
    const { kid } = decode(token).header;
    return typeof kid === "string" ? kid : undefined;
  } catch {
    return undefined;
  }
}

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The caller a verified token names (its claims checked, so `exp` is there); `ClaimsRefused` when
 * its `sub` is not a user id. It is accepted until `clockSkewMs` after its `exp`.
 */
export function callerFromClaims(payload: JWTPayload, clockSkewMs: number): Caller {
  if (typeof payload.sub !== "string" || !uuid.test(payload.sub)) throw new ClaimsRefused("its sub claim is not a user id (a UUID)");
  const roles: unknown = payload.roles;
  return { userId: payload.sub.toLowerCase(), admin: Array.isArray(roles) && roles.includes("admin"), expiresAt: (payload.exp ?? 0) * 1_000 + clockSkewMs };
}
