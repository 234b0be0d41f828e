/**
 * `bun run token -- --user <uuid> [--admin] [--ttl 1h]`: prints a development bearer token for
 * AUTH=jwt, signed HS256 with JWT_SECRET (with JWT_ISSUER / JWT_AUDIENCE as `iss` / `aud` when
 * set), so `TOKEN=$(bun run token -- --user …)` works. It carries `iat` and lives `--ttl` (1h, or
 * JWT_MAX_TTL when that is shorter), never longer than JWT_MAX_TTL: the server would refuse it.
 * A problem is one line on stderr, exit 1.
 */
import { parseArgs } from "node:util";
import { sign } from "hono/jwt";
import { ConfigError, loadConfig } from "../shared/config";
import { formatDuration } from "../shared/duration";

export class TokenScriptError extends Error {
  override name = "TokenScriptError";
}

const usage = "usage: bun run token -- --user <uuid> [--admin] [--ttl 1h]";
const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const units: Record<string, number> = { s: 1, m: 60, h: 3_600, d: 86_400 };
const maxTtlSeconds = 366 * 86_400;

/** A duration like `90`, `90s`, `30m`, `1h` or `7d`, in seconds. */
export function parseTtl(text: string): number {
  const match = /^(\d{1,9})([smhd]?)$/.exec(text.trim());
  const seconds = match ? Number(match[1]) * units[match[2] || "s"]! : Number.NaN;
  if (!(seconds > 0 && seconds <= maxTtlSeconds)) {
    throw new TokenScriptError(`--ttl expects a duration like 90s, 30m, 1h or 7d (at most 366d), got ${JSON.stringify(text)}`);
  }
  return seconds;
}

/** The token for these arguments and environment; throws a one-line `TokenScriptError`. */
export async function mintToken(argv: string[], env: Record<string, string | undefined>, now = Date.now()): Promise<string> {
  let values: { user?: string; admin?: boolean; ttl?: string };
  try {
    ({ values } = parseArgs({
      args: argv[0] === "--" ? argv.slice(1) : argv,
      options: { user: { type: "string" }, admin: { type: "boolean" }, ttl: { type: "string" } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new TokenScriptError(`${(error as Error).message.split("\n")[0]} — ${usage}`);
  }
  if (!values.user) throw new TokenScriptError(`--user is required — ${usage}`);
  if (!uuid.test(values.user)) throw new TokenScriptError(`--user expects a UUID, got ${JSON.stringify(values.user)}`);

  if (!env.JWT_SECRET?.trim()) {
    throw new TokenScriptError("JWT_SECRET is unset: set it to the secret the server verifies with (at least 32 characters)");
  }
  // The server's own validation, so the token is signed exactly as AUTH=jwt verifies it.
  let auth;
  try {
    auth = loadConfig({ AUTH: "jwt", JWT_SECRET: env.JWT_SECRET, JWT_ISSUER: env.JWT_ISSUER, JWT_AUDIENCE: env.JWT_AUDIENCE, JWT_MAX_TTL: env.JWT_MAX_TTL }).auth;
  } catch (error) {
    if (error instanceof ConfigError) throw new TokenScriptError(error.message);
    throw error;
  }
  if (auth.kind !== "jwt" || !("secret" in auth.key)) throw new TokenScriptError("JWT_SECRET is required");
  const maxTtl = Math.floor(auth.maxTtlMs / 1000);
  const ttl = values.ttl === undefined ? Math.min(3_600, maxTtl) : parseTtl(values.ttl);
  if (ttl > maxTtl) {
    throw new TokenScriptError(`--ttl ${values.ttl} is longer than JWT_MAX_TTL (${formatDuration(auth.maxTtlMs)}): the server would refuse the token`);
  }

  const issuedAt = Math.floor(now / 1000);
  return sign(
    {
      sub: values.user.toLowerCase(),
      ...(values.admin && { roles: ["admin"] }),
      iat: issuedAt,
      exp: issuedAt + ttl,
      ...(auth.issuer !== undefined && { iss: auth.issuer }),
      ...(auth.audience !== undefined && { aud: auth.audience }),
    },
    auth.key.secret,
    "HS256",
  );
}

if (import.meta.main) {
  try {
    console.log(await mintToken(process.argv.slice(2), process.env));
  } catch (error) {
    if (!(error instanceof TokenScriptError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
}
