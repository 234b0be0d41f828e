import { z } from "@hono/zod-openapi";
import type { ContentfulStatusCode } from "hono/utils/http-status";

/** Problem details (RFC 9457), the body of every error response. */

/** Where a validation error was found and what is wrong there. */
export interface FieldError {
  /** The part of the request: body, query, path, header or cookie. */
  location: string;
  /** Dotted path within that part ("amount", "items.0.id"); empty for the part as a whole. */
  field: string;
  message: string;
}

export interface Problem {
  /** A URI naming the kind of problem; "about:blank" when the status says it all. */
  type: string;
  title: string;
  status: number;
  detail?: string;
  /** Validation errors, one per bad field. */
  errors?: FieldError[];
  /** Further members, e.g. the health checks that are down. */
  [extension: string]: unknown;
}

/** For routes to declare their error responses in the OpenAPI document. */
export const ProblemSchema = z
  .looseObject({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().optional(),
    errors: z.array(z.object({ location: z.string(), field: z.string(), message: z.string() })).optional(),
  })
  .openapi("Problem");

export const problemContentType = "application/problem+json";

const titles: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Content",
  426: "Upgrade Required",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

/** The standard title of a status ("Not Found"). */
export const statusTitle = (status: number) => titles[status] ?? (status >= 500 ? "Server Error" : "Client Error");

/**
 * Thrown anywhere below a route to answer with problem+json: the app's one `onError` turns it
 * into the response. Use it for expected failures (404 unknown id, 409 conflict), not for bugs.
 */
export class HttpProblem extends Error {
  override name = "HttpProblem";
  readonly status: ContentfulStatusCode;
  readonly problem: Problem;
  /** Extra response headers, e.g. `WWW-Authenticate` on a 401. */
  readonly headers: Record<string, string>;

  constructor(
    status: ContentfulStatusCode,
    detail?: string,
    options: { type?: string; title?: string; errors?: FieldError[]; headers?: Record<string, string>; extensions?: Record<string, unknown> } = {},
  ) {
    super(detail ?? statusTitle(status));
    this.status = status;
    this.headers = options.headers ?? {};
    this.problem = {
      ...options.extensions,
      type: options.type ?? "about:blank",
      title: options.title ?? statusTitle(status),
      status,
      ...(detail !== undefined && { detail }),
      ...(options.errors && { errors: options.errors }),
    };
  }
}

/** A problem+json response. */
export function problemResponse(problem: Problem, headers: HeadersInit = {}): Response {
  const response = new Response(JSON.stringify(problem), { status: problem.status, headers });
  response.headers.set("content-type", problemContentType);
  return response;
}

/** The problem for a request that failed validation: one entry in `errors` per issue. */
export function validationProblem(location: string, issues: readonly { path: readonly PropertyKey[]; message: string }[]): Problem {
  const errors = issues.map((issue) => ({ location, field: issue.path.map(String).join("."), message: issue.message }));
  return {
    type: "about:blank",
    title: statusTitle(400),
    status: 400,
    detail: `The request ${location} is invalid: ${errors.map((error) => (error.field ? `${error.field}: ${error.message}` : error.message)).join("; ")}`,
    errors,
  };
}
