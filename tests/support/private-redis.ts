import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Redis from "ioredis";
import { eventually } from "../../shared/testing/eventually";

/**
 * A `redis-server` of the test's own, so a broker outage can be staged without touching the
 * machine's Redis that other tests share. It persists every write before answering
 * (`appendfsync always`), as a production Redis with AOF does, so a crash and restart on the same
 * port and directory loses nothing it acknowledged.
 */
export class PrivateRedis {
  #server: Bun.Subprocess | undefined;

  private constructor(readonly port: number, readonly dir: string) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<PrivateRedis> {
    const redis = new PrivateRedis(await freePort(), await mkdtemp(join(tmpdir(), "gozon-redis-")));
    await redis.#launch();
    return redis;
  }

  async #launch(): Promise<void> {
    this.#server = Bun.spawn(
      ["redis-server", "--port", String(this.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes",
        "--appendfsync", "always", "--dir", this.dir, "--daemonize", "no", "--loglevel", "warning"],
      { stdin: "ignore", stdout: "ignore", stderr: "ignore" },
    );
    await eventually(() => this.#answers(), 10_000, `redis-server on :${this.port} to answer PING`);
  }

  async #answers(): Promise<boolean> {
    const client = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on("error", () => {});
    try {
      await client.connect();
      return (await client.ping()) === "PONG";
    } finally {
      client.disconnect();
    }
  }

  /** SIGSTOP: the server keeps its connections but answers nothing (unreachable, not gone). */
  pause(): void {
    this.#server?.kill("SIGSTOP");
  }

  /** SIGCONT: answers again, everything intact. */
  resume(): void {
    this.#server?.kill("SIGCONT");
  }

  /** SIGKILL: connections drop, the port refuses; what was acknowledged is in the AOF. */
  async crash(): Promise<void> {
    this.#server?.kill("SIGKILL");
    await this.#server?.exited;
  }

  /** Starts again on the same port from the same directory (replaying the AOF). */
  async restart(): Promise<void> {
    await this.#launch();
  }

  /** Kills the server and deletes its directory. */
  async remove(): Promise<void> {
    if (this.#server && this.#server.exitCode === null) {
      this.#server.kill("SIGCONT");
      this.#server.kill("SIGKILL");
      await this.#server.exited;
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** A port nothing listens on right now (the OS picks it). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
