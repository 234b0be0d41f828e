import { afterAll, describe, expect, test } from "bun:test";
import { KeySetUnavailable, RemoteKeySet } from "./remote-key-set";

/** A JWKS endpoint that counts its fetches and can be told to fail. */
let keys = [{ kty: "EC", kid: "one" }];
let failing = false;
let fetches = 0;
const server = Bun.serve({
  port: 0,
  fetch() {
    fetches++;
    return failing ? new Response("down", { status: 503 }) : Response.json({ keys });
  },
});
afterAll(() => server.stop(true));
const url = `http://127.0.0.1:${server.port}/jwks.json`;

function reset(): void {
  keys = [{ kty: "EC", kid: "one" }];
  failing = false;
  fetches = 0;
}

describe("RemoteKeySet", () => {
  test("fetches once and serves the cached keys after that", async () => {
    reset();
    const keySet = new RemoteKeySet(url);
    expect(await keySet.keysFor("one")).toEqual(keys);
    await Promise.all([keySet.keysFor("one"), keySet.keysFor(undefined), keySet.keysFor("one")]);
    expect(fetches).toBe(1);
  });

  test("concurrent first requests share one fetch", async () => {
    reset();
    const keySet = new RemoteKeySet(url);
    await Promise.all(Array.from({ length: 5 }, () => keySet.keysFor("one")));
    expect(fetches).toBe(1);
  });

  test("an unknown kid fetches again (a rotation), but at most once per cooldown", async () => {
    reset();
    const keySet = new RemoteKeySet(url, { cooldownMs: 0 });
    await keySet.keysFor("one");
    keys = [{ kty: "EC", kid: "one" }, { kty: "EC", kid: "two" }];
    expect((await keySet.keysFor("two")).map((key) => key.kid)).toEqual(["one", "two"]);
    expect(fetches).toBe(2);

    const cooling = new RemoteKeySet(url, { cooldownMs: 60_000 });
    await cooling.keysFor("one");
    await cooling.keysFor("made-up-1");
    await cooling.keysFor("made-up-2");
    expect(fetches).toBe(3);
  });

  test("keys older than maxAge are fetched again", async () => {
    reset();
    const keySet = new RemoteKeySet(url, { maxAgeMs: 0, cooldownMs: 0 });
    await keySet.keysFor("one");
    await Bun.sleep(2);
    await keySet.keysFor("one");
    expect(fetches).toBe(2);
  });

  test("when a fetch fails, the keys already held stay in use", async () => {
    reset();
    const keySet = new RemoteKeySet(url, { maxAgeMs: 0, cooldownMs: 0 });
    await keySet.keysFor("one");
    failing = true;
    await Bun.sleep(2);
    expect(await keySet.keysFor("one")).toEqual(keys);
    expect(fetches).toBe(2);
  });

  test("with no keys held, a failing provider is KeySetUnavailable", async () => {
    reset();
    failing = true;
    const keySet = new RemoteKeySet(url);
    await expect(keySet.keysFor("one")).rejects.toBeInstanceOf(KeySetUnavailable);
    const unreachable = new RemoteKeySet("http://127.0.0.1:9/jwks.json", { timeoutMs: 500 });
    await expect(unreachable.keysFor("one")).rejects.toBeInstanceOf(KeySetUnavailable);
  });
});
