import { DlqError, type DlqInvocation } from "./args";
import { formatDeadLetter, formatPage, type DeadLetterItem, type DeadLetterPage } from "./format";

const base = "/api/admin/dead-letters";

/** Calls the admin API for one command and returns what to print; throws a one-line DlqError. */
export async function runDlq(invocation: DlqInvocation, fetchImpl: typeof fetch = fetch): Promise<string> {
  const { command, json } = invocation;
  switch (command.name) {
    case "list": {
      const query = new URLSearchParams();
      for (const name of ["topic", "subject", "state", "limit", "before"] as const) if (command[name] !== undefined) query.set(name, command[name]!);
      const page = (await call(invocation, fetchImpl, "GET", `${base}${query.size > 0 ? `?${query}` : ""}`)) as DeadLetterPage;
      return json ? JSON.stringify(page) : formatPage(page);
    }
    case "show": {
      const item = (await call(invocation, fetchImpl, "GET", `${base}/${command.id}`)) as DeadLetterItem;
      return json ? JSON.stringify(item) : formatDeadLetter(item);
    }
    case "redrive": {
      const item = (await call(invocation, fetchImpl, "POST", `${base}/${command.id}/redrive`)) as DeadLetterItem;
      return json ? JSON.stringify(item) : `re-driven ${item.id} to ${item.topic} (replay ${item.replayCount})`;
    }
    case "discard": {
      const item = (await call(invocation, fetchImpl, "POST", `${base}/${command.id}/discard`)) as DeadLetterItem;
      return json ? JSON.stringify(item) : `discarded ${item.id}`;
    }
    case "redrive-all": {
      const filter = { ...(command.topic !== undefined && { topic: command.topic }), ...(command.errorContains !== undefined && { errorContains: command.errorContains }) };
      const result = (await call(invocation, fetchImpl, "POST", `${base}/redrive`, filter)) as { redriven: number };
      return json ? JSON.stringify(result) : `re-driven ${result.redriven} dead letter${result.redriven === 1 ? "" : "s"}`;
    }
  }
}

/** One request; a refusal becomes "<status> <title>: <detail>", an unreachable server says so. */
async function call(invocation: DlqInvocation, fetchImpl: typeof fetch, method: string, path: string, body?: unknown): Promise<unknown> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (invocation.token) headers.authorization = `Bearer ${invocation.token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  let response: Response;
  try {
    response = await fetchImpl(`${invocation.url}${path}`, { method, headers, ...(body !== undefined && { body: JSON.stringify(body) }), signal: AbortSignal.timeout(30_000) });
  } catch (error) {
    throw new DlqError(`cannot reach ${invocation.url}: ${(error as Error).message}`);
  }
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (!response.ok) {
    const problem = (parsed ?? {}) as { title?: string; detail?: string };
    const reason = [problem.title ?? response.statusText, problem.detail].filter(Boolean).join(": ");
    throw new DlqError(`${method} ${path} → ${response.status} ${reason}`.replace(/\s+/g, " "));
  }
  if (parsed === undefined) throw new DlqError(`${method} ${path} → ${response.status} but the answer is not JSON`);
  return parsed;
}
