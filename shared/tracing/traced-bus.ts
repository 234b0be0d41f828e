import { context, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span, type Tracer } from "@opentelemetry/api";
import type { BatchHandler, Bus, Delivery, MessageHandler, OutgoingMessage, SubscribeOptions, Subscription } from "../bus/bus";
import { messagingAttributes as attributes } from "./semconv";
import { extractTraceContext, injectTraceHeaders } from "./trace-headers";

export interface TracedBusOptions {
  tracer: Tracer;
  /** `messaging.system`: the bus adapter (kafka, redis, memory). */
  system: string;
  /** The message id in a message's body (our envelope's `id`), for `messaging.message.id`; best effort. */
  messageIdOf(value: string): string | undefined;
}

/**
 * A bus that traces what goes through it, following the messaging semantic conventions. Only
 * messages that carry a trace context (a `traceparent` header: the outbox row's stored context)
 * are traced; the others pass as they are.
 * - publish: a PRODUCER span `publish <topic>` per message, a child of the message's context,
 *   ended once the broker has the message; the message goes out with the producer span's context.
 * - subscribe, subscribeBatch, subscribeBroadcast: a CONSUMER span `process <topic>` per message,
 *   a child of the message's context, ended when the handler has finished with it (an error
 *   status if it threw). The handler sees each message's headers carrying its consumer span's
 *   context, to store with the outbox rows it causes; a one-message batch runs inside its span.
 */
export class TracedBus implements Bus {
  readonly features: Bus["features"];

  constructor(private readonly inner: Bus, private readonly options: TracedBusOptions) {
    this.features = inner.features;
  }

  async publish(topic: string, messages: OutgoingMessage[]): Promise<void> {
    let spans: Span[] | undefined;
    const outgoing = messages.map((message) => {
      if (message.headers?.traceparent === undefined) return message;
      const parent = extractTraceContext(message.headers);
      const span = this.#start(`publish ${topic}`, SpanKind.PRODUCER, parent, {
        ...this.#common(topic, message.value),
        [attributes.operationType]: "send",
        [attributes.operationName]: "publish",
      });
      (spans ??= []).push(span);
      return { ...message, headers: { ...message.headers, ...injectTraceHeaders(trace.setSpan(parent, span)) } };
    });
    if (!spans) return this.inner.publish(topic, messages);
    try {
      await this.inner.publish(topic, outgoing);
    } catch (error) {
      for (const span of spans) failed(span, error);
      throw error;
    } finally {
      for (const span of spans) span.end();
    }
  }

  subscribe(topic: string, group: string, handler: MessageHandler, options?: SubscribeOptions): Promise<Subscription> {
    return this.inner.subscribe(topic, group, (message) => this.#consume(group, [message], ([traced]) => handler(traced!)), options);
  }

  subscribeBatch(topic: string, group: string, handler: BatchHandler, options?: SubscribeOptions): Promise<Subscription> {
    return this.inner.subscribeBatch(topic, group, (batch) => this.#consume(group, batch, handler), options);
  }

  subscribeBroadcast(topic: string, handler: MessageHandler): Promise<Subscription> {
    return this.inner.subscribeBroadcast(topic, (message) => this.#consume(undefined, [message], ([traced]) => handler(traced!)));
  }

  ping(): Promise<boolean> {
    return this.inner.ping();
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  async #consume(group: string | undefined, batch: Delivery[], handler: BatchHandler): Promise<void> {
    let spans: { span: Span; context: Context }[] | undefined;
    const deliveries = batch.map((message) => {
      if (message.headers.traceparent === undefined) return message;
      const parent = extractTraceContext(message.headers);
      const span = this.#start(`process ${message.topic}`, SpanKind.CONSUMER, parent, {
        ...this.#common(message.topic, message.value),
        [attributes.partition]: String(message.partition),
        [attributes.operationType]: "process",
        [attributes.operationName]: "process",
        ...(group !== undefined && { [attributes.consumerGroup]: group }),
        ...(batch.length > 1 && { [attributes.batchCount]: batch.length }),
      });
      const spanContext = trace.setSpan(parent, span);
      (spans ??= []).push({ span, context: spanContext });
      return { ...message, headers: { ...message.headers, ...injectTraceHeaders(spanContext) } };
    });
    if (!spans) return handler(batch);
    // One message: its handler runs in its span (log lines carry its ids). Several: in no span of theirs.
    const active = batch.length === 1 ? spans[0]!.context : context.active();
    try {
      await context.with(active, () => handler(deliveries));
    } catch (error) {
      for (const { span } of spans) failed(span, error);
      throw error;
    } finally {
      for (const { span } of spans) span.end();
    }
  }

  #start(name: string, kind: SpanKind, parent: Context, spanAttributes: Attributes): Span {
    return this.options.tracer.startSpan(name, { kind, attributes: spanAttributes }, parent);
  }

  #common(topic: string, value: string): Attributes {
    const messageId = this.options.messageIdOf(value);
    return {
      [attributes.system]: this.options.system,
      [attributes.destination]: topic,
      ...(messageId !== undefined && { [attributes.messageId]: messageId }),
    };
  }
}

function failed(span: Span, error: unknown): void {
  span.recordException(error instanceof Error ? error : String(error));
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
}
