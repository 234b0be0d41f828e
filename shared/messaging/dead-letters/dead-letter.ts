import { createHash } from "node:crypto";
import type { Delivery } from "../../bus/bus";
import { subjectIn, type SubjectPath } from "./dead-letter-subject";

/** What one message on `<topic>.dlq` says, as the recorder writes it down. */
export interface DeadLetterRecord {
  /** The envelope's id, or a stable id from the message's place on its topic (see `deadLetterOf`). */
  id: string;
  /** The topic it was consumed from. */
  topic: string;
  key: string;
  /** What the message is about, read with its topic's `SubjectPath`; null when it cannot be read. */
  subject: string | null;
  /** The message exactly as it was published. */
  value: string;
  headers: Record<string, string>;
  error: string;
  attempts: number;
  failedAt: Date;
  /** Which dead-lettering this is: the same for copies of one dead-letter message, new for each time the bus gives up. */
  event: string;
}

/** Set on a re-driven message, so one without a readable envelope comes back to the same row. */
export const deadLetterIdHeader = "x-dead-letter-id";

/** Headers the bus adds when it dead-letters a message (shared/bus/delivery.ts deadLetterHeaders). */
const busHeaders = ["x-error", "x-attempts", "x-original-topic", "x-original-partition", "x-original-position", "x-dead-lettered-at"];

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Reads a delivery of `<topic>.dlq`. The id is the envelope's `id` when the message is JSON with a
 * UUID there (so a message dead-lettered again, or re-driven and dead-lettered again, lands on the
 * same row); else the id a re-drive stamped on it; else a name-based UUID of its original topic,
 * partition and position, which is the same however often that one message is dead-lettered.
 * PostgreSQL text cannot hold NUL: in the key and the error it becomes U+FFFD (the message itself
 * is kept as bytes). The subject is read at `subject` in the message (see `subjectOf`).
 */
export function deadLetterOf(delivery: Delivery, subject?: SubjectPath, now = new Date()): DeadLetterRecord {
  const headers = delivery.headers;
  const topic = headers["x-original-topic"] ?? delivery.topic.replace(/\.dlq$/, "");
  const partition = headers["x-original-partition"] ?? String(delivery.partition);
  const position = headers["x-original-position"] ?? delivery.position;
  const stamped = headers[deadLetterIdHeader];
  const json = parseJson(delivery.value);
  const id =
    envelopeIdOf(json) ??
    (stamped && uuidPattern.test(stamped) ? stamped.toLowerCase() : nameBasedUuid(`${topic}/${partition}/${position}`));
  const deadLetteredAt = headers["x-dead-lettered-at"];
  const failedAt = deadLetteredAt && !Number.isNaN(Date.parse(deadLetteredAt)) ? new Date(deadLetteredAt) : now;
  const attempts = Number(headers["x-attempts"]);
  return {
    id,
    topic: withoutNul(topic),
    key: withoutNul(delivery.key),
    subject: subjectIn(json, subject),
    value: delivery.value,
    headers,
    error: withoutNul(headers["x-error"] ?? "(the bus gave no reason)"),
    attempts: Number.isSafeInteger(attempts) && attempts >= 0 ? attempts : 0,
    failedAt,
    // The original place and the time name one dead-lettering wherever its copy sits on the
    // dead-letter topic; without the time (an older bus), the place on the dead-letter topic does.
    event: deadLetteredAt ? `${topic}/${partition}/${position}@${deadLetteredAt}` : `dlq/${delivery.partition}/${delivery.position}`,
  };
}

/** The headers a re-drive publishes with: the message's own, without the bus's dead-letter ones. */
export function redriveHeaders(id: string, headers: Record<string, string>): Record<string, string> {
  const own = Object.fromEntries(Object.entries(headers).filter(([name]) => !busHeaders.includes(name)));
  return { ...own, [deadLetterIdHeader]: id };
}

function parseJson(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return undefined;
  }
}

function envelopeIdOf(json: unknown): string | undefined {
  const id = typeof json === "object" && json !== null ? (json as { id?: unknown }).id : undefined;
  return typeof id === "string" && uuidPattern.test(id) ? id.toLowerCase() : undefined;
}

/** A version-5 (SHA-1, name-based) UUID of `name` in a namespace of our own (RFC 9562 §5.5). */
function nameBasedUuid(name: string): string {
  const namespace = Buffer.from("5b0c1f3e8a6d4c2e9f7a0d1b2c3e4f50", "hex");
  const bytes = createHash("sha1").update(namespace).update(name).digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function withoutNul(text: string): string {
  return text.replaceAll("\u0000", "\uFFFD");
}
