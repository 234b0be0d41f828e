import type { HonoJsonWebKey } from "hono/utils/jwt/jws";

/** The identity provider's key set could not be fetched and none is cached: tokens cannot be checked now. */
export class KeySetUnavailable extends Error {
  override name = "KeySetUnavailable";
}

export interface RemoteKeySetOptions {
  /** Keys older than this are fetched again. Default 10 minutes. */
  maxAgeMs?: number;
  /** At most one fetch per this interval, whatever tokens arrive (unknown `kid`s, failures). Default 30 s. */
  cooldownMs?: number;
  /** A fetch that takes longer counts as failed. Default 5 s. */
  timeoutMs?: number;
}

/**
 * A JWKS (RFC 7517) fetched from `url` and cached. Hono's `jwk({ jwks_uri })` fetches the set on
 * every request; this keeps it instead, and fetches again when it is older than `maxAgeMs` or
 * when a token names a `kid` it lacks (the provider rotated its keys) — at most once per
 * `cooldownMs`, so a flood of tokens with made-up `kid`s cannot make us hammer the provider.
 * When a fetch fails the keys already held stay in use.
 */
export class RemoteKeySet {
  readonly #url: string;
  readonly #maxAgeMs: number;
  readonly #cooldownMs: number;
  readonly #timeoutMs: number;
  #keys: HonoJsonWebKey[] | undefined;
  #fetchedAt = 0;
  #attemptedAt = Number.NEGATIVE_INFINITY;
  #lastFailure: unknown;
  #inFlight: Promise<void> | undefined;

  constructor(url: string, options: RemoteKeySetOptions = {}) {
    this.#url = url;
    this.#maxAgeMs = options.maxAgeMs ?? 600_000;
    this.#cooldownMs = options.cooldownMs ?? 30_000;
    this.#timeoutMs = options.timeoutMs ?? 5_000;
  }

  /** The keys to verify a token signed with `kid`; throws `KeySetUnavailable` when none can be had. */
  async keysFor(kid: string | undefined): Promise<HonoJsonWebKey[]> {
    const now = Date.now();
    const unknownKid = kid !== undefined && !this.#keys?.some((key) => key.kid === kid);
    const due = this.#keys === undefined || now - this.#fetchedAt > this.#maxAgeMs || unknownKid;
    if (due && now - this.#attemptedAt >= this.#cooldownMs) {
      this.#inFlight ??= this.#fetch().finally(() => (this.#inFlight = undefined));
      await this.#inFlight;
    } else if (this.#inFlight) {
      await this.#inFlight;
    }
    if (this.#keys) return this.#keys;
    throw new KeySetUnavailable(`the key set at ${this.#url} could not be fetched`, { cause: this.#lastFailure });
  }

  async #fetch(): Promise<void> {
    this.#attemptedAt = Date.now();
    try {
      const response = await fetch(this.#url, { signal: AbortSignal.timeout(this.#timeoutMs), headers: { accept: "application/json" } });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const body = (await response.json()) as { keys?: unknown };
      if (!Array.isArray(body.keys)) throw new Error('the response has no "keys" array');
      this.#keys = body.keys.filter((key): key is HonoJsonWebKey => typeof key === "object" && key !== null);
      this.#fetchedAt = Date.now();
    } catch (error) {
      this.#lastFailure = error;
    }
  }
}
