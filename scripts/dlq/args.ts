import { parseArgs } from "node:util";

/** A problem with the command line or the answer: one line for stderr, and the exit status. */
export class DlqError extends Error {
  override name = "DlqError";
  constructor(message: string, readonly exitCode = 1) {
    super(message);
  }
}

export const usage =
  "usage: bun run dlq -- list [--topic T] [--subject S] [--state pending|redriven|discarded] [--limit N] [--before CURSOR] | show ID | redrive ID | redrive-all [--topic T] [--error TEXT] | discard ID  [--url URL] [--token JWT] [--json]";

export type DlqCommand =
  | { name: "list"; topic?: string; subject?: string; state?: string; limit?: string; before?: string }
  | { name: "show" | "redrive" | "discard"; id: string }
  | { name: "redrive-all"; topic?: string; errorContains?: string };

export interface DlqInvocation {
  command: DlqCommand;
  /** The process's base URL: `--url`, else GOZON_URL, else http://127.0.0.1:8080. */
  url: string;
  /** `--token`, else GOZON_TOKEN (with AUTH=jwt, a token with the admin role). */
  token?: string;
  /** JSON out: `--json`, or whenever stdout is not a terminal. */
  json: boolean;
}

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Reads the command line; throws a one-line DlqError (exit 2) for a bad one. */
export function parseDlqArgs(argv: string[], env: Record<string, string | undefined>, isTerminal: boolean): DlqInvocation {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv[0] === "--" ? argv.slice(1) : argv);
  } catch (error) {
    throw new DlqError(`${(error as Error).message.split("\n")[0]} — ${usage}`, 2);
  }
  const { values, positionals } = parsed;
  const [name, id, ...extra] = positionals;
  const refuse = (message: string) => new DlqError(`${message} — ${usage}`, 2);
  if (extra.length > 0) throw refuse(`unexpected ${JSON.stringify(extra[0])}`);
  const only = (allowed: string[]) => {
    const stray = ["topic", "subject", "state", "limit", "before", "error"].find((option) => values[option as keyof typeof values] !== undefined && !allowed.includes(option));
    if (stray) throw refuse(`--${stray} does not go with ${name}`);
  };
  let command: DlqCommand;
  switch (name) {
    case "list":
      if (id !== undefined) throw refuse(`list takes no id`);
      only(["topic", "subject", "state", "limit", "before"]);
      command = { name, topic: values.topic, subject: values.subject, state: values.state, limit: values.limit, before: values.before };
      break;
    case "show":
    case "redrive":
    case "discard":
      if (id === undefined) throw refuse(`${name} needs the dead letter's id`);
      if (!uuid.test(id)) throw new DlqError(`${name}: the id must be a UUID, got ${JSON.stringify(id)}`, 2);
      only([]);
      command = { name, id };
      break;
    case "redrive-all":
      if (id !== undefined) throw refuse(`redrive-all takes no id (use redrive ID)`);
      only(["topic", "error"]);
      command = { name, topic: values.topic, errorContains: values.error };
      break;
    default:
      throw refuse(name === undefined ? "no command" : `unknown command ${JSON.stringify(name)}`);
  }
  const url = values.url ?? env.GOZON_URL ?? "http://127.0.0.1:8080";
  if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) throw new DlqError(`--url expects an http(s) URL, got ${JSON.stringify(url)}`, 2);
  const token = values.token ?? (env.GOZON_TOKEN?.trim() || undefined);
  return { command, url: url.replace(/\/+$/, ""), ...(token && { token }), json: values.json === true || !isTerminal };
}

function parse(args: string[]) {
  return parseArgs({
    args,
    options: {
      url: { type: "string" },
      token: { type: "string" },
      json: { type: "boolean" },
      topic: { type: "string" },
      subject: { type: "string" },
      state: { type: "string" },
      limit: { type: "string" },
      before: { type: "string" },
      error: { type: "string" },
    },
    strict: true,
    allowPositionals: true,
  });
}
