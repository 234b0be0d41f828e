import { createRoute, OpenAPIHono, z, type RouteConfig } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import type { AuthConfig } from "../config";
import type { Logger } from "../logger";
import { bearerTokenOf, callerFromClaims, createTokenVerifier, type Caller, type TokenVerifier } from "./bearer-token";
import { HttpProblem, ProblemSchema, problemContentType } from "./problem";
import { KeySetUnavailable } from "./remote-key-set";
import { ClaimsRefused } from "./token-claims";
import { bearerProtocol, tokenOfProtocols } from "./websockets";

export type { Caller } from "./bearer-token";

declare module "hono" {
  interface ContextVariableMap {
    /** Who sent the request: set by the auth middleware with AUTH=jwt; undefined with AUTH=none. */
    caller: Caller | undefined;
  }
}

/**
 * Who may do what (docs/architecture.md#authentication), as the composition root hands it to each
 * module. With AUTH=none every request may act for any user; with AUTH=jwt a protected route needs
 * a verified bearer token, whose `sub` is the caller, and a user id in the request must be the
 * caller's (or the caller an admin). Modules use only this port; they never read the configuration.
 */
export interface AuthPolicy {
  readonly kind: AuthConfig["kind"];
  /**
   * The route with authentication first in its middleware (before validation, so a request
   * without a valid token is 401 whatever it holds), and with the bearer scheme and the 401 in
   * its OpenAPI description. Unchanged with AUTH=none.
   */
  protect<R extends RouteConfig>(route: R): R;
  /**
   * As `protect`, and only a caller with the `admin` role gets past it (403 for any other token,
   * before validation). Open with AUTH=none, like every route.
   */
  protectAdmin<R extends RouteConfig>(route: R): R;
  /** The middleware `protect` adds, for routes outside OpenAPI: `Authorization: Bearer <JWT>`. */
  readonly authenticate: MiddlewareHandler;
  /**
   * The same for a WebSocket upgrade, whose browser client cannot send `Authorization`: the token
   * from `Sec-WebSocket-Protocol: bearer, <JWT>` (see `bearerProtocol`), or else from the query
   * parameter `name`. The caller's `expiresAt` says when the socket must close.
   */
  authenticateWebSocket(name: string): MiddlewareHandler;
  /** True when the request's caller may act for `userId`: their own id, or an admin (always with AUTH=none). */
  mayActFor(c: Context, userId: string): boolean;
  /** Throws a 403 problem unless the caller may act for `userId` (the caller named it: nothing leaks). */
  assertMayActFor(c: Context, userId: string): void;
}

/** The name of the security scheme in the OpenAPI document. */
export const bearerScheme = "bearerAuth";

/** Builds the policy AUTH configures. `logger` hears when tokens cannot be checked (the JWKS is unreachable). */
export function createAuthPolicy(config: AuthConfig, options: { logger?: Logger } = {}): AuthPolicy {
  if (config.kind === "none") {
    return {
      kind: "none",
      protect: (route) => route,
      protectAdmin: (route) => route,
      authenticate: (_c, next) => next(),
      authenticateWebSocket: () => (_c, next) => next(),
      mayActFor: () => true,
      assertMayActFor: () => {},
    };
  }
  return new JwtPolicy(createTokenVerifier(config), options.logger);
}

class JwtPolicy implements AuthPolicy {
  readonly kind = "jwt";

  constructor(private readonly verifier: TokenVerifier, private readonly logger: Logger | undefined) {}

  protect<R extends RouteConfig>(route: R): R {
    const middleware = [this.authenticate, ...[route.middleware ?? []].flat()];
    const unauthorized = {
      description: "No bearer token, or one that is expired, forged or not accepted",
      headers: z.object({ "WWW-Authenticate": z.string().openapi({ example: 'Bearer realm="gozon", error="invalid_token"' }) }),
      content: { [problemContentType]: { schema: ProblemSchema } },
    };
    return { ...route, middleware, security: [{ [bearerScheme]: [] }], responses: { ...route.responses, 401: unauthorized } };
  }

  protectAdmin<R extends RouteConfig>(route: R): R {
    const adminOnly: MiddlewareHandler = async (c, next) => {
      if (!c.get("caller")?.admin) throw new HttpProblem(403, "Only a token with the admin role may use this endpoint");
      await next();
    };
    const guarded = this.protect({ ...route, middleware: [adminOnly, ...[route.middleware ?? []].flat()] });
    const forbidden = { description: "AUTH=jwt: the token has no admin role", content: { [problemContentType]: { schema: ProblemSchema } } };
    return { ...guarded, responses: { ...guarded.responses, 403: forbidden } };
  }

  readonly authenticate: MiddlewareHandler = async (c, next) => {
    const header = c.req.header("authorization");
    if (!header) throw unauthorized("This API needs a bearer token: Authorization: Bearer <JWT>");
    const token = bearerTokenOf(header);
    if (!token) throw unauthorized('The Authorization header must be "Bearer <JWT>"', "invalid_request");
    try {
      c.set("caller", callerFromClaims(await this.verifier.verify(token), this.verifier.clockSkewMs));
    } catch (error) {
      throw this.refusal(error);
    }
    await next();
  };

  authenticateWebSocket(name: string): MiddlewareHandler {
    return async (c, next) => {
      const token = tokenOfProtocols(c.req.header("sec-websocket-protocol")) ?? c.req.query(name);
      if (!token) throw unauthorized(`This endpoint needs a bearer token: Sec-WebSocket-Protocol: ${bearerProtocol}, <JWT> (or ?${name}=<JWT>)`);
      try {
        c.set("caller", callerFromClaims(await this.verifier.verify(token), this.verifier.clockSkewMs));
      } catch (error) {
        throw this.refusal(error);
      }
      await next();
    };
  }

  mayActFor(c: Context, userId: string): boolean {
    const caller = c.get("caller");
    // A route that asks without having authenticated is a bug: fail closed, loudly (500).
    if (!caller) throw new Error("the caller was asked for on a route without authentication (use auth.protect)");
    return caller.admin || caller.userId === userId.toLowerCase();
  }

  assertMayActFor(c: Context, userId: string): void {
    if (!this.mayActFor(c, userId)) throw new HttpProblem(403, `The token's user may not act for user ${userId}`);
  }

  /**
   * 401 for a token that is not good, saying why only when its signature verified: before that,
   * which check failed would tell a forger what to change, so every such token gets the same answer.
   * 503 when tokens cannot be checked now (the key set is unreachable).
   */
  private refusal(error: unknown): HttpProblem {
    if (error instanceof KeySetUnavailable) {
      this.logger?.warn("bearer tokens cannot be verified: the key set is unavailable", { error: String(error.cause ?? error) });
      return new HttpProblem(503, "Tokens cannot be verified right now; try again shortly", { headers: { "retry-after": "5" } });
    }
    if (error instanceof ClaimsRefused) return unauthorized(`The bearer token is refused: ${error.message}`, "invalid_token", error.message);
    return unauthorized("The bearer token is invalid", "invalid_token");
  }
}

/** A 401 problem with the challenge of RFC 6750 §3: no error code when no token was sent. */
function unauthorized(detail: string, error?: "invalid_request" | "invalid_token", description?: string): HttpProblem {
  const challenge = [`Bearer realm="gozon"`, error && `error="${error}"`, description && `error_description="${description}"`];
  return new HttpProblem(401, detail, { headers: { "WWW-Authenticate": challenge.filter(Boolean).join(", ") } });
}

const authInfo = createRoute({
  method: "get",
  path: "/api/auth",
  tags: ["auth"],
  summary: "Whether this server wants a bearer token (open: the status page asks it)",
  responses: {
    200: {
      description: "`jwt`: send `Authorization: Bearer <JWT>` (WebSocket: `Sec-WebSocket-Protocol: bearer, <JWT>` or `?access_token=`); `none`: no authentication",
      content: { "application/json": { schema: z.object({ auth: z.enum(["none", "jwt"]) }) } },
    },
  },
});

/** `GET /api/auth`, open, and with AUTH=jwt the bearer scheme in the OpenAPI document (Swagger UI's Authorize). */
export function authRoutes(auth: AuthPolicy): OpenAPIHono {
  const app = new OpenAPIHono();
  if (auth.kind === "jwt") {
    app.openAPIRegistry.registerComponent("securitySchemes", bearerScheme, {
      type: "http",
      scheme: "bearer",
      bearerFormat: "JWT",
      description: "A JWT whose sub is your user id (development: bun run token -- --user <uuid>)",
    });
  }
  app.openapi(authInfo, (c) => c.json({ auth: auth.kind }, 200));
  return app;
}
