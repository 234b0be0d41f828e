import { ProblemSchema, problemContentType } from "./problem";

/** An OpenAPI response whose body is JSON of `schema`. */
export const jsonContent = <T>(schema: T, description: string) => ({ description, content: { "application/json": { schema } } });

/** An OpenAPI error response: problem+json (shared/http/problem.ts). */
export const problemContent = (description: string) => ({
  description,
  content: { [problemContentType]: { schema: ProblemSchema } },
});
