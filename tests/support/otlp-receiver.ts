/**
 * A small OTLP/HTTP trace collector for tests: `POST /v1/traces`, decoding the http/json protocol
 * (OTLP's JSON mapping: hex ids, attributes as `{key, value: {stringValue | intValue | …}}`) into
 * flat spans. Bodies in the protobuf protocol are counted and kept raw. It can be told to stop
 * answering (a slow collector) or be stopped (a dead one).
 */

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  name: string;
  /** OTLP's SpanKind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  /** The resource's service.name: which process sent it. */
  service: string;
  /** The resource's process.pid. */
  pid: number | undefined;
  attributes: Record<string, string | number | boolean>;
  /** 0 unset, 1 ok, 2 error. */
  statusCode: number;
}

export const spanKind = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 } as const;

interface JsonAttribute {
  key: string;
  value: { stringValue?: string; intValue?: string | number; doubleValue?: number; boolValue?: boolean };
}
interface JsonSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: JsonAttribute[];
  status?: { code?: number };
}
interface JsonExport {
  resourceSpans?: { resource?: { attributes?: JsonAttribute[] }; scopeSpans?: { spans?: JsonSpan[] }[] }[];
}

export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  /** Every POST received: path and content type (and the raw body of protobuf ones). */
  readonly requests: { path: string; contentType: string; body: Uint8Array }[] = [];
  #server: ReturnType<typeof Bun.serve> | undefined;
  #hanging = false;
  readonly #held: (() => void)[] = [];

  private constructor(readonly port: number) {}

  /** Starts a receiver on a free port of 127.0.0.1 (or on `port`, to come back where it was). */
  static start(port = 0): OtlpReceiver {
    const receiver = new OtlpReceiver(port);
    receiver.#listen(port);
    return receiver;
  }

  /** The base endpoint, as OTEL_EXPORTER_OTLP_ENDPOINT takes it. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The spans of one trace. */
  trace(traceId: string): ReceivedSpan[] {
    return this.spans.filter((span) => span.traceId === traceId);
  }

  /** From now on, requests are read but never answered (a collector that has stopped keeping up). */
  hang(): void {
    this.#hanging = true;
  }

  /** Stops listening (a collector that is down); held requests are dropped. */
  stop(): void {
    this.#server?.stop(true);
    this.#server = undefined;
    for (const release of this.#held.splice(0)) release();
  }

  /** Listens again on the same port, answering at once. */
  restart(): void {
    this.#hanging = false;
    this.#listen(this.port);
  }

  #listen(port: number): void {
    this.#server = Bun.serve({
      hostname: "127.0.0.1",
      port,
      fetch: async (request) => {
        const body = new Uint8Array(await request.arrayBuffer());
        const contentType = request.headers.get("content-type") ?? "";
        this.requests.push({ path: new URL(request.url).pathname, contentType, body });
        if (contentType.includes("json")) this.#decode(JSON.parse(new TextDecoder().decode(body)) as JsonExport);
        if (this.#hanging) await new Promise<void>((resolve) => this.#held.push(resolve));
        return new Response(contentType.includes("json") ? "{}" : new Uint8Array(), { headers: { "content-type": contentType } });
      },
    });
    (this as { port: number }).port = this.#server.port ?? port;
  }

  #decode(body: JsonExport): void {
    for (const { resource, scopeSpans } of body.resourceSpans ?? []) {
      const resourceAttributes = flatten(resource?.attributes);
      for (const { spans } of scopeSpans ?? []) {
        for (const span of spans ?? []) {
          this.spans.push({
            traceId: span.traceId,
            spanId: span.spanId,
            parentSpanId: span.parentSpanId || undefined,
            name: span.name,
            kind: span.kind,
            service: String(resourceAttributes["service.name"]),
            pid: typeof resourceAttributes["process.pid"] === "number" ? resourceAttributes["process.pid"] : undefined,
            attributes: flatten(span.attributes),
            statusCode: span.status?.code ?? 0,
          });
        }
      }
    }
  }
}

function flatten(attributes: JsonAttribute[] | undefined): Record<string, string | number | boolean> {
  const flat: Record<string, string | number | boolean> = {};
  for (const { key, value } of attributes ?? []) {
    if (value.stringValue !== undefined) flat[key] = value.stringValue;
    else if (value.intValue !== undefined) flat[key] = Number(value.intValue);
    else if (value.doubleValue !== undefined) flat[key] = value.doubleValue;
    else if (value.boolValue !== undefined) flat[key] = value.boolValue;
  }
  return flat;
}
