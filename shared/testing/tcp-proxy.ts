/**
 * A TCP proxy of the test's own in front of a server (PostgreSQL), to stage an outage without
 * touching the server other tests share: `cut()` drops every proxied connection and stops
 * listening, so new connections are refused (ECONNREFUSED) as they are when the server is down;
 * `restore()` listens again on the same port.
 */
export class TcpProxy {
  #listener: Bun.TCPSocketListener<Pipe> | undefined;
  readonly #pipes = new Set<Pipe>();
  #port = 0;
  /** Between cut() and restore(): a connection the listener still accepts is dropped at once. */
  #down = false;
  /** Set by cutAtFirstQuery(): the next connection to send a query after its start-up cuts. */
  #cutAtFirstQuery = false;

  private constructor(readonly target: { hostname: string; port: number }) {}

  /** Starts listening on a free port of 127.0.0.1. */
  static async start(target: { hostname: string; port: number }): Promise<TcpProxy> {
    const proxy = new TcpProxy(target);
    proxy.#listen(0);
    return proxy;
  }

  get port(): number {
    return this.#port;
  }

  /** When bytes last went through, either way (performance.now()). */
  lastTrafficAt = 0;

  /** True when no byte has gone through for `ms`: no connection is mid-handshake or mid-query. */
  quietFor(ms: number): boolean {
    return performance.now() - this.lastTrafficAt >= ms;
  }

  /** Connections proxied right now. */
  get connections(): number {
    return this.#pipes.size;
  }

  /** The URL with its host and port replaced by the proxy's. */
  url(upstreamUrl: string): string {
    const url = new URL(upstreamUrl);
    url.hostname = "127.0.0.1";
    url.port = String(this.#port);
    return url.toString();
  }

  /** The outage: every proxied connection is closed and new ones are refused. */
  cut(): void {
    this.#down = true;
    this.#listener?.stop(true);
    this.#listener = undefined;
    for (const pipe of [...this.#pipes]) pipe.close();
  }

  /**
   * The outage starts the moment a connection sends its first message after the start-up message
   * (its first query, unsent): the instant a new connection of a client is between handshake and
   * work.
   */
  cutAtFirstQuery(): void {
    this.#cutAtFirstQuery = true;
  }

  /** The end of the outage: listens again on the same port. */
  restore(): void {
    this.#down = false;
    if (!this.#listener) this.#listen(this.#port);
  }

  /** Stops for good (cut, then nothing). */
  close(): void {
    this.cut();
  }

  #listen(port: number): void {
    const pipes = this.#pipes;
    const target = this.target;
    const isDown = () => this.#down;
    const traffic = () => void (this.lastTrafficAt = performance.now());
    /** True when this chunk from a client is its first after the start-up message, and that is when to cut. */
    const cutsHere = (pipe: Pipe) => {
      if (++pipe.messagesFromClient !== 2 || !this.#cutAtFirstQuery) return false;
      this.#cutAtFirstQuery = false;
      this.cut();
      return true;
    };
    this.#listener = Bun.listen<Pipe>({
      hostname: "127.0.0.1",
      port,
      socket: {
        open(client) {
          if (isDown()) return void client.terminate();
          const pipe = new Pipe(client, () => pipes.delete(pipe));
          client.data = pipe;
          pipes.add(pipe);
          Bun.connect<Pipe>({
            ...target,
            socket: {
              open(server) {
                server.data = pipe;
                pipe.upstreamOpened(server);
              },
              data: (_server, bytes) => {
                traffic();
                pipe.toClient(bytes);
              },
              drain: () => pipe.flushUpstream(),
              close: () => pipe.close(),
              error: () => pipe.close(),
              connectError: () => pipe.close(),
            },
          }).catch(() => pipe.close());
        },
        data: (client, bytes) => {
          traffic();
          if (cutsHere(client.data)) return;
          client.data.toUpstream(bytes);
        },
        drain: (client) => client.data.flushClient(),
        close: (client) => client.data?.close(),
        error: (client) => client.data?.close(),
      },
    });
    this.#port = this.#listener.port;
  }
}

/** One proxied connection: bytes each way, held while the other side is not writable yet. */
class Pipe {
  #upstream: Bun.Socket<Pipe> | undefined;
  #toUpstream: Uint8Array[] = [];
  #toClient: Uint8Array[] = [];
  #closed = false;
  /** Chunks received from the client so far (the first is its start-up message). */
  messagesFromClient = 0;

  constructor(readonly client: Bun.Socket<Pipe>, readonly onClose: () => void) {}

  upstreamOpened(upstream: Bun.Socket<Pipe>): void {
    if (this.#closed) return void upstream.end();
    this.#upstream = upstream;
    this.flushUpstream();
  }

  toUpstream(bytes: Uint8Array): void {
    this.#toUpstream.push(new Uint8Array(bytes));
    this.flushUpstream();
  }

  toClient(bytes: Uint8Array): void {
    this.#toClient.push(new Uint8Array(bytes));
    this.flushClient();
  }

  flushUpstream(): void {
    if (this.#upstream && !this.#closed) flush(this.#upstream, this.#toUpstream);
  }

  flushClient(): void {
    if (!this.#closed) flush(this.client, this.#toClient);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.client.end();
    this.#upstream?.end();
    this.onClose();
  }
}

/** Writes queued chunks until the socket takes no more; the rest waits for its drain. */
function flush(socket: Bun.Socket<Pipe>, queue: Uint8Array[]): void {
  while (queue.length > 0) {
    const chunk = queue[0]!;
    const written = socket.write(chunk);
    if (written < 0) return;
    if (written < chunk.length) {
      queue[0] = chunk.subarray(written);
      return;
    }
    queue.shift();
  }
}
