/**
 * A small HTTP/1.1 client for the bench's orders: up to `size` connections to one origin, each
 * carrying one request at a time, every connection kept open and reused; a request that finds all
 * of them busy waits in the client (and that wait is part of its answer time).
 *
 * Why not fetch: Bun's fetch keeps at most 64 idle connections per host, whatever
 * `Bun.FetchSession`'s `maxIdleSockets` says (measured, Bun 1.4.5: 2,000 concurrent requests in
 * five waves used 7,600 connections for 10,000 requests). Past capacity thousands of orders are in
 * flight, so nearly every request opened a connection: tens of thousands of TIME_WAIT sockets,
 * the server's listen queue (512) overflowing, and SYNs retried after 1 s and 3 s, which the bench
 * then reported as the server's answer times. No HTTP client that runs under Bun keeps a pool this
 * large (Bun substitutes its own fetch for `undici`); this one does only what the bench needs:
 * requests with a body, answers with a Content-Length.
 *
 * A server closes a connection that stayed idle too long (Bun after 10 s). Its FIN can sit unread
 * while this process's event loop runs late, as it does past capacity, and a request written on
 * such a connection is lost ("the connection closed before the answer"; one overload run in six
 * lost 459 orders with that error). So, like undici's keep-alive timeout, a connection idle for
 * more than `maxIdleMs` is closed by the pool rather than reused.
 */

export interface PoolAnswer {
  status: number;
  /** Header names in lower case. */
  headers: Record<string, string>;
  body: string;
}

interface Pending {
  request: Uint8Array;
  resolve(answer: PoolAnswer): void;
  reject(error: Error): void;
}

interface Connection {
  socket: Bun.Socket<undefined> | undefined;
  current: Pending | undefined;
  /** What has arrived of the current answer. */
  received: Uint8Array;
  /** What is left to write of the current request (the socket took only part of it). */
  unsent: Uint8Array | undefined;
  closed: boolean;
  /** When it last went back to the idle list (performance.now()). */
  idleSince: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const headerEnd = encoder.encode("\r\n\r\n");

export class HttpPool {
  readonly #host: string;
  readonly #port: number;
  readonly #size: number;
  readonly #maxIdleMs: number;
  readonly #idle: Connection[] = [];
  readonly #waiting: Pending[] = [];
  #open = 0;
  #closing = false;
  /** Connections opened over the pool's life (each reused as long as it stays up). */
  opened = 0;

  /** `maxIdleMs`: well under the server's idle timeout (Bun's is 10 s), minus how late this loop may run. */
  constructor(origin: string, size: number, maxIdleMs = 4_000) {
    const url = new URL(origin);
    this.#host = url.hostname;
    this.#port = Number(url.port || 80);
    this.#size = size;
    this.#maxIdleMs = maxIdleMs;
  }

  /** POSTs `body` (JSON) to `path`; rejects when the connection fails or closes before the whole answer came. */
  post(path: string, body: string): Promise<PoolAnswer> {
    const payload = encoder.encode(body);
    const head = `POST ${path} HTTP/1.1\r\nHost: ${this.#host}:${this.#port}\r\nContent-Type: application/json\r\nContent-Length: ${payload.length}\r\n\r\n`;
    const request = new Uint8Array(Buffer.concat([encoder.encode(head), payload]));
    return new Promise((resolve, reject) => {
      if (this.#closing) return reject(new Error("the pool is closed"));
      this.#dispatch({ request, resolve, reject });
    });
  }

  /** Closes every connection; requests still waiting are rejected. */
  close(): void {
    this.#closing = true;
    for (const pending of this.#waiting.splice(0)) pending.reject(new Error("the pool is closed"));
    for (const connection of this.#idle.splice(0)) connection.socket?.end();
  }

  #dispatch(pending: Pending): void {
    const connection = this.#takeIdle();
    if (connection) return this.#send(connection, pending);
    if (this.#open < this.#size) return void this.#connect(pending);
    this.#waiting.push(pending);
  }

  /** The most recently used idle connection that has not been idle too long; older ones are closed. */
  #takeIdle(): Connection | undefined {
    const now = performance.now();
    for (let connection = this.#idle.pop(); connection; connection = this.#idle.pop()) {
      if (now - connection.idleSince <= this.#maxIdleMs) return connection;
      // The idle list is most recent last, so every one below this has been idle longer still.
      for (const stale of [connection, ...this.#idle.splice(0)]) this.#retire(stale);
    }
    return undefined;
  }

  #retire(connection: Connection): void {
    connection.closed = true;
    this.#open--;
    connection.socket?.end();
  }

  async #connect(first: Pending): Promise<void> {
    this.#open++;
    this.opened++;
    const connection: Connection = { socket: undefined, current: first, received: new Uint8Array(0), unsent: undefined, closed: false, idleSince: 0 };
    try {
      connection.socket = await Bun.connect({
        hostname: this.#host,
        port: this.#port,
        socket: {
          data: (_socket, chunk) => this.#received(connection, chunk),
          drain: () => this.#flush(connection),
          close: () => this.#lost(connection, "the connection closed before the answer"),
          error: (_socket, error) => this.#lost(connection, `connection error: ${error.message}`),
        },
      });
    } catch (error) {
      return this.#lost(connection, `could not connect: ${error instanceof Error ? error.message : String(error)}`);
    }
    this.#send(connection, first);
  }

  #send(connection: Connection, pending: Pending): void {
    connection.current = pending;
    connection.received = new Uint8Array(0);
    connection.unsent = pending.request;
    this.#flush(connection);
  }

  #flush(connection: Connection): void {
    const { socket, unsent } = connection;
    if (!socket || !unsent) return;
    const written = socket.write(unsent);
    connection.unsent = written >= unsent.length ? undefined : unsent.subarray(Math.max(0, written));
  }

  #received(connection: Connection, chunk: Uint8Array): void {
    const buffer = connection.received.length === 0 ? chunk : new Uint8Array(Buffer.concat([connection.received, chunk]));
    const answer = parseAnswer(buffer);
    if (answer === "incomplete") {
      connection.received = buffer;
      return;
    }
    const pending = connection.current;
    connection.current = undefined;
    connection.received = new Uint8Array(0);
    if (answer instanceof Error) {
      connection.socket?.end();
      return void pending?.reject(answer);
    }
    pending?.resolve(answer);
    if (answer.headers.connection?.toLowerCase() === "close") {
      connection.socket?.end();
      return;
    }
    this.#release(connection);
  }

  #release(connection: Connection): void {
    const next = this.#waiting.shift();
    if (next) this.#send(connection, next);
    else if (this.#closing) connection.socket?.end();
    else {
      connection.idleSince = performance.now();
      this.#idle.push(connection);
    }
  }

  #lost(connection: Connection, why: string): void {
    if (connection.closed) return;
    connection.closed = true;
    this.#open--;
    const index = this.#idle.indexOf(connection);
    if (index >= 0) this.#idle.splice(index, 1);
    connection.current?.reject(new Error(why));
    connection.current = undefined;
    // A request waiting for a connection gets a new one in place of the lost one.
    const next = this.#waiting.shift();
    if (next && !this.#closing) void this.#connect(next);
  }
}

/** One whole answer at the start of `buffer`, "incomplete" when more must come, an Error for what this client does not read. */
export function parseAnswer(buffer: Uint8Array): PoolAnswer | "incomplete" | Error {
  const end = indexOf(buffer, headerEnd);
  if (end < 0) return "incomplete";
  const [statusLine = "", ...lines] = decoder.decode(buffer.subarray(0, end)).split("\r\n");
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1]);
  if (!Number.isInteger(status)) return new Error(`not an HTTP answer: ${JSON.stringify(statusLine.slice(0, 80))}`);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  if (headers["transfer-encoding"]) return new Error(`a ${headers["transfer-encoding"]} answer (this client reads Content-Length only)`);
  const length = Number(headers["content-length"] ?? 0);
  const bodyStart = end + headerEnd.length;
  if (buffer.length < bodyStart + length) return "incomplete";
  return { status, headers, body: decoder.decode(buffer.subarray(bodyStart, bodyStart + length)) };
}

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  return Buffer.from(haystack.buffer, haystack.byteOffset, haystack.byteLength).indexOf(needle);
}
