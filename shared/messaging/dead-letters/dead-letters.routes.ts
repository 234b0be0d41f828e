import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { DependencyUnavailableError } from "../../bus/bus";
import type { AuthPolicy } from "../../http/auth";
import { jsonContent, problemContent } from "../../http/openapi-responses";
import { HttpProblem } from "../../http/problem";
import type { DeadLetter, DeadLetterStore, DeadLetterSummary } from "./dead-letter-store";
import {
  deadLetterIdParams,
  deadLetterPageSchema,
  deadLetterSchema,
  encodeCursor,
  listQuery,
  redriveFilterBody,
  redrivenCountSchema,
} from "./dead-letters.schemas";

const tags = ["dead letters"];
const base = "/api/admin/dead-letters";

/**
 * The admin API over the dead letters of every module this process runs: one route
 * set asking each module's store, so in mono both modules' dead letters are listed together.
 * With AUTH=jwt only the admin role may call it.
 */
export function deadLetterRoutes(stores: readonly DeadLetterStore[], auth: AuthPolicy): OpenAPIHono {
  const topics = [...new Set(stores.flatMap((store) => store.topics))];
  const notFound = (id: string) => new HttpProblem(404, `no dead letter ${id}`);
  const app = new OpenAPIHono();

  const list = createRoute({
    method: "get",
    path: base,
    tags,
    summary: "Dead letters, newest failure first, a page at a time",
    request: { query: listQuery(topics) },
    responses: { 200: jsonContent(deadLetterPageSchema, "A page of dead letters"), 400: problemContent("Invalid filter or cursor") },
  });
  app.openapi(auth.protectAdmin(list), async (c) => {
    const { topic, subject, state, before, limit = 50 } = c.req.valid("query");
    const pages = await Promise.all(
      stores.filter((store) => topic === undefined || store.topics.includes(topic)).map((store) => store.list({ topic, subject, state, before, limit: limit + 1 })),
    );
    const merged = pages.flat().sort(newestFirst);
    const items = merged.slice(0, limit);
    const last = items.at(-1);
    return c.json({ items: items.map(summaryJson), nextBefore: merged.length > limit && last ? encodeCursor(last) : null }, 200);
  });

  const show = createRoute({
    method: "get",
    path: `${base}/{id}`,
    tags,
    summary: "One dead letter, with its message",
    request: { params: deadLetterIdParams },
    responses: { 200: jsonContent(deadLetterSchema, "The dead letter"), 400: problemContent("Invalid id"), 404: problemContent("No such dead letter") },
  });
  app.openapi(auth.protectAdmin(show), async (c) => {
    const { id } = c.req.valid("param");
    for (const store of stores) {
      const found = await store.find(id);
      if (found) return c.json(detailJson(found), 200);
    }
    throw notFound(id);
  });

  const redrive = createRoute({
    method: "post",
    path: `${base}/{id}/redrive`,
    tags,
    summary: "Publish the original message again (same envelope id: the consumer applies it at most once)",
    request: { params: deadLetterIdParams },
    responses: {
      202: jsonContent(deadLetterSchema, "Published again; the dead letter is marked redriven"),
      400: problemContent("Invalid id"),
      404: problemContent("No such dead letter"),
      409: problemContent("The dead letter was discarded"),
      503: problemContent("The bus did not take the message; nothing changed"),
    },
  });
  app.openapi(auth.protectAdmin(redrive), async (c) => {
    const { id } = c.req.valid("param");
    for (const store of stores) {
      const result = await busRefusal(() => store.redrive(id));
      if ("redriven" in result) return c.json(detailJson(result.redriven), 202);
      if (result.refused === "discarded") throw new HttpProblem(409, `dead letter ${id} was discarded and cannot be re-driven`);
    }
    throw notFound(id);
  });

  const discard = createRoute({
    method: "post",
    path: `${base}/{id}/discard`,
    tags,
    summary: "Mark a dead letter discarded: kept for the record, never re-driven",
    request: { params: deadLetterIdParams },
    responses: { 200: jsonContent(deadLetterSchema, "The dead letter, discarded"), 400: problemContent("Invalid id"), 404: problemContent("No such dead letter") },
  });
  app.openapi(auth.protectAdmin(discard), async (c) => {
    const { id } = c.req.valid("param");
    for (const store of stores) {
      const discarded = await store.discard(id);
      if (discarded) return c.json(detailJson(discarded), 200);
    }
    throw notFound(id);
  });

  const redriveMatching = createRoute({
    method: "post",
    path: `${base}/redrive`,
    tags,
    summary: "Re-drive every pending dead letter that matches the filter ({} for all)",
    request: { body: { content: { "application/json": { schema: redriveFilterBody(topics) } }, required: true } },
    responses: {
      202: jsonContent(redrivenCountSchema, "How many were published again"),
      400: problemContent("Invalid filter"),
      415: problemContent("No JSON body"),
      503: problemContent("The bus did not take a message; those before it were re-driven"),
    },
  });
  app.openapi(auth.protectAdmin(redriveMatching), async (c) => {
    // The validator lets a POST with no body at all through as {}: that must not re-drive everything.
    if (!/^application\/json\b/i.test(c.req.header("content-type") ?? "")) {
      throw new HttpProblem(415, "The filter must be a JSON body, sent with Content-Type: application/json ({} for every pending dead letter)");
    }
    const filter = c.req.valid("json");
    let redriven = 0;
    for (const store of stores.filter((store) => filter.topic === undefined || store.topics.includes(filter.topic))) {
      redriven += await busRefusal(() => store.redriveMatching(filter));
    }
    return c.json({ redriven }, 202);
  });

  return app;
}

/** By last failure, then id, both descending: the order each store lists in. */
function newestFirst(a: DeadLetterSummary, b: DeadLetterSummary): number {
  return b.lastFailedAt.getTime() - a.lastFailedAt.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

/** The bus refusing a re-driven message: 503, try again. */
async function busRefusal<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof DependencyUnavailableError) throw new HttpProblem(503, error.message, { headers: { "retry-after": "5" } });
    throw error;
  }
}

function summaryJson(item: DeadLetterSummary) {
  const { id, module, topic, key, subject, error, attempts, replayCount, state } = item;
  return { id, module, topic, key, subject, error, attempts, firstFailedAt: item.firstFailedAt.toISOString(), lastFailedAt: item.lastFailedAt.toISOString(), replayCount, state };
}

function detailJson(item: DeadLetter) {
  return { ...summaryJson(item), message: item.message, headers: item.headers };
}
