import { OpenAPIHono, createRoute, z } from "@hono/zod-openapi";

const servicesInfo = createRoute({
  method: "get",
  path: "/api/services",
  tags: ["services"],
  summary: "Where a browser reaches each module's API (open: the status page asks it)",
  responses: {
    200: {
      description:
        'Per module: `""` when this process serves it (same origin), its public URL when it runs elsewhere and this process was told where, `null` when not known',
      content: { "application/json": { schema: z.record(z.string(), z.string().nullable()) } },
    },
  },
});

/** `GET /api/services`: the page of one module finds another module's API without guessing ports. */
export function servicesRoutes(publicUrls: Record<string, string | null>): OpenAPIHono {
  const app = new OpenAPIHono();
  app.openapi(servicesInfo, (c) => c.json(publicUrls, 200));
  return app;
}
