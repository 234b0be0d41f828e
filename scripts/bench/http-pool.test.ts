import { afterAll, describe, expect, test } from "bun:test";
import { HttpPool, parseAnswer } from "./http-pool";

const encode = (text: string) => new TextEncoder().encode(text);

describe("parseAnswer", () => {
  test("reads the status, the headers and a Content-Length body; waits for what has not come yet", () => {
    const whole = "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 5\r\n\r\nhello";
    expect(parseAnswer(encode(whole))).toEqual({ status: 503, headers: { "retry-after": "1", "content-length": "5" }, body: "hello" });
    expect(parseAnswer(encode(whole.slice(0, 40)))).toBe("incomplete");
    expect(parseAnswer(encode(whole.slice(0, -2)))).toBe("incomplete");
    expect(parseAnswer(encode("HTTP/1.1 201 Created\r\ncontent-length: 0\r\n\r\n"))).toEqual({ status: 201, headers: { "content-length": "0" }, body: "" });
  });

  test("refuses what it does not read: a chunked answer, or no HTTP at all", () => {
    expect(parseAnswer(encode("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"))).toBeInstanceOf(Error);
    expect(parseAnswer(encode("SSH-2.0-OpenSSH\r\n\r\n"))).toBeInstanceOf(Error);
  });
});

describe("HttpPool against a real server", () => {
  const ports = new Set<number>();
  const server = Bun.serve({
    port: 0,
    async fetch(request, self) {
      ports.add(self.requestIP(request)!.port);
      const body = (await request.json()) as { n: number };
      await Bun.sleep(5);
      if (body.n % 3 === 0) return new Response(JSON.stringify({ refused: body.n }), { status: 503, headers: { "retry-after": "1" } });
      return Response.json({ n: body.n, text: "é✓" }, { status: 201 });
    },
  });
  afterAll(() => server.stop(true));

  test("answers every request on at most `size` connections, each reused", async () => {
    const pool = new HttpPool(server.url.origin, 200);
    for (let wave = 0; wave < 3; wave++) {
      const answers = await Promise.all(Array.from({ length: 1_000 }, (_, n) => pool.post("/orders", JSON.stringify({ n }))));
      for (const [n, answer] of answers.entries()) {
        if (n % 3 === 0) expect(answer).toMatchObject({ status: 503, headers: { "retry-after": "1" }, body: JSON.stringify({ refused: n }) });
        else expect(JSON.parse(answer.body)).toEqual({ n, text: "é✓" });
      }
    }
    expect(pool.opened).toBe(200);
    expect(ports.size).toBe(200);
    pool.close();
  });

  test("a connection the server closes before answering fails its request, and the pool carries on", async () => {
    let accepted = 0;
    // Takes each request and hangs up on the second connection's.
    const rude = Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        open(socket) {
          socket.data = ++accepted;
        },
        data(socket) {
          if (socket.data === 2) return void socket.end();
          socket.write("HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok");
        },
      },
      data: 0 as number,
    });
    const pool = new HttpPool(`http://127.0.0.1:${rude.port}`, 2);
    const [first, second] = await Promise.allSettled([pool.post("/", "{}"), pool.post("/", "{}")]);
    expect(first).toEqual({ status: "fulfilled", value: { status: 201, headers: { "content-length": "2" }, body: "ok" } });
    expect(second.status).toBe("rejected");
    expect(String((second as PromiseRejectedResult).reason)).toContain("closed before the answer");
    expect((await pool.post("/", "{}")).status).toBe(201);
    pool.close();
    rude.stop(true);
  });
});

describe("HttpPool and a server that closes idle connections", () => {
  // In a process of its own, so that it closes the connection while this process's loop is busy:
  // each connection is closed 300 ms after its answer, as a server's idle timeout does.
  const script = `
    const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: {
      data(socket) {
        socket.write("HTTP/1.1 201 Created\\r\\nContent-Length: 2\\r\\n\\r\\nok");
        setTimeout(() => socket.end(), 300);
      },
    } });
    console.log(server.port);
  `;
  const server = Bun.spawn([process.execPath, "-e", script], { stdout: "pipe", stderr: "inherit" });
  afterAll(() => server.kill());
  const port = (async () => {
    const reader = server.stdout.getReader();
    const { value } = await reader.read();
    return Number(new TextDecoder().decode(value).trim());
  })();

  test("a connection idle past maxIdleMs is not reused, even when the server's close has not been read yet", async () => {
    const pool = new HttpPool(`http://127.0.0.1:${await port}`, 4, 200);
    expect((await pool.post("/", "{}")).status).toBe(201);
    // The loop runs late across the server's close: its FIN waits unread, as past capacity.
    const start = performance.now();
    while (performance.now() - start < 1_000) {}
    expect((await pool.post("/", "{}")).status).toBe(201);
    expect(pool.opened).toBe(2);
    pool.close();
  });

  test("a connection used again within maxIdleMs is reused", async () => {
    const pool = new HttpPool(`http://127.0.0.1:${await port}`, 4, 200);
    for (let n = 0; n < 3; n++) expect((await pool.post("/", "{}")).status).toBe(201);
    expect(pool.opened).toBe(1);
    pool.close();
  });
});
