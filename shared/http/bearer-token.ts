import type { MiddlewareHandler } from "hono";
import { jwk } from "hono/jwk";
import { decode, jwt, verify, verifyWithJwks } from "hono/jwt";
import type { AsymmetricAlgorithm } from "hono/utils/jwt/jwa";
import type { VerifyOptions } from "hono/utils/jwt/jwt";
import type { JWTPayload } from "hono/utils/jwt/types";
import type { AuthConfig } from "../config";
import { RemoteKeySet } from "./remote-key-set";

/** Who sent a request, from a verified token. */
export interface Caller {
  /** The token's `sub`: a user id (UUID), lower-cased. */
  userId: string;
  /** The token's `roles` claim holds "admin": may act for any user. */
  admin: boolean;
  /** When the token stops being accepted (ms since the epoch, from its `exp`): a WebSocket it opened closes then. */
  expiresAt: number;
}

export type JwtAuthConfig = Extract<AuthConfig, { kind: "jwt" }>;

/**
 * Verifies bearer tokens the way AUTH=jwt says: HS256 with JWT_SECRET, or the asymmetric keys of
 * JWT_JWKS_URL; `exp` (and `nbf`, `iat` when present) checked by Hono, `iss`/`aud` when configured.
 * A token whose `alg` is `none`, or another algorithm than these, is refused.
 */
export interface TokenVerifier {
  /**
   * Hono's own `jwt()` or `jwk()` middleware over `Authorization: Bearer`: sets `jwtPayload`, or
   * throws its `HTTPException(401)` with the verification error as `cause`.
   */
  readonly middleware: MiddlewareHandler;
  /** The same verification of a token that came another way (the WebSocket's query); throws the error. */
  verify(token: string): Promise<JWTPayload>;
}

/** Every asymmetric algorithm Hono verifies; a JWKS key that names its `alg` pins the token to it. */
const asymmetricAlgorithms: AsymmetricAlgorithm[] = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"];
const realm = "gozon";

export function createTokenVerifier(config: JwtAuthConfig): TokenVerifier {
  // Hono checks iss and aud itself when given them (hono/utils/jwt/jwt.ts `verify`).
  const verification: VerifyOptions = {
    ...(config.issuer !== undefined && { iss: config.issuer }),
    ...(config.audience !== undefined && { aud: config.audience }),
  };
  if ("secret" in config.key) {
    const { secret } = config.key;
    return {
      middleware: jwt({ secret, alg: "HS256", realm, verification }),
      verify: (token) => verify(token, secret, { alg: "HS256", ...verification }),
    };
  }
  const keySet = new RemoteKeySet(config.key.jwksUrl);
  return {
    middleware: jwk({
      keys: (c) => keySet.keysFor(keyIdOf(bearerTokenOf(c.req.header("authorization")))),
      alg: asymmetricAlgorithms,
      realm,
      verification,
    }),
    verify: async (token) =>
      verifyWithJwks(token, { keys: await keySet.keysFor(keyIdOf(token)), allowedAlgorithms: asymmetricAlgorithms, verification }),
  };
}

/** The token in an `Authorization: Bearer <token>` header; undefined when there is none or it has another form. */
export function bearerTokenOf(header: string | undefined): string | undefined {
  const match = /^Bearer +([^\s]+)\s*$/i.exec(header ?? "");
  return match?.[1];
}

/** The `kid` of a token's header, read without verifying anything (to pick the key). */
function keyIdOf(token: string | undefined): string | undefined {
  if (!token) return undefined;
  try {
    const { kid } = decode(token).header;
    return typeof kid === "string" ? kid : undefined;
  } catch {
    return undefined;
  }
}

/** A token that verified but does not name a caller the way this service needs. */
export class UnusableClaims extends Error {
  override name = "UnusableClaims";
}

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The caller a verified token names. Hono checks `exp` only when present; a token without one never expires, so it is refused. */
export function callerFromClaims(payload: JWTPayload): Caller {
  if (typeof payload.exp !== "number") throw new UnusableClaims("it has no exp claim");
  if (typeof payload.sub !== "string" || !uuid.test(payload.sub)) throw new UnusableClaims("its sub claim is not a user id (a UUID)");
  const roles: unknown = payload.roles;
  return { userId: payload.sub.toLowerCase(), admin: Array.isArray(roles) && roles.includes("admin"), expiresAt: payload.exp * 1_000 };
}

/** Why a token was refused, in words safe to send back: Hono's own messages quote the token. */
export function refusalReason(error: unknown): string {
  if (error instanceof UnusableClaims) return error.message;
  const reasons: Record<string, string> = {
    JwtTokenExpired: "it has expired",
    JwtTokenNotBefore: "it is not valid yet",
    JwtTokenIssuedAt: "it is issued in the future",
    JwtTokenIssuer: "its issuer is not the expected one",
    JwtTokenAudience: "its audience is not this service",
    JwtPayloadRequiresAud: "it has no aud claim",
    JwtTokenSignatureMismatched: "its signature does not match",
    JwtHeaderInvalid: "its header is invalid or its algorithm is not accepted",
    JwtAlgorithmMismatch: "its algorithm is not accepted",
    JwtAlgorithmNotAllowed: "its algorithm is not accepted",
    JwtSymmetricAlgorithmNotAllowed: "its algorithm is not accepted",
    JwtHeaderRequiresKid: "its header names no key (kid)",
    JwtTokenInvalid: "it is malformed or signed by an unknown key",
  };
  const name = error instanceof Error ? error.name : "";
  return reasons[name] ?? "it could not be verified";
}
