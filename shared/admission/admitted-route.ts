import { z, type RouteConfig } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import { ProblemSchema, problemContentType } from "../http/problem";
import type { AdmissionGate } from "./admission-gate";

/** The OpenAPI description of a refusal under overload. */
export const overloadedResponse = {
  description: "Overloaded: refused before anything was done; try again after Retry-After seconds",
  headers: z.object({ "Retry-After": z.string().openapi({ example: "1" }) }),
  content: { [problemContentType]: { schema: ProblemSchema } },
};

/**
 * The route with `admission` first in its own middleware (after authentication, before the body
 * is read and validated), so a request refused under overload costs next to nothing, and with
 * the 503 in its OpenAPI description.
 */
export function admittedRoute<R extends RouteConfig>(route: R, admission: MiddlewareHandler): R {
  return { ...route, middleware: [admission, ...[route.middleware ?? []].flat()], responses: { ...route.responses, 503: overloadedResponse } };
}

/** Middleware running the rest of the request (validation and handler) inside the gate. */
export function throughGate(gate: AdmissionGate): MiddlewareHandler {
  return (c, next) => gate.run(next, c.req.raw.signal);
}
