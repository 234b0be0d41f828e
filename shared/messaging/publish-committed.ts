import { sql } from "kysely";
import type { Bus } from "../bus/bus";
import { arrayLiteral } from "../db/array-literal";
import { StatementTemplate } from "../db/statement-template";
import type { Logger } from "../logger";
import { publishByTopic, type QueuedMessage } from "./outbox";
import type { ModuleDb } from "../db";

export interface CommittedPublisherOptions {
  db: ModuleDb;
  bus: Bus;
  schema: string;
  logger?: Logger;
  /** Published rows are marked in one UPDATE at most this often. Default 200 ms (the relay waits 2 s for them). */
  markEveryMs?: number;
}

/**
 * Publishes outbox rows whose transaction has just committed, so they need not wait for a relay
 * round, and marks them published a little later, many batches in one UPDATE. Best effort, never
 * throws: whatever this misses (the bus refused, the process died before the mark) stays
 * unpublished and the relay publishes it after its grace period
 * (`OutboxRelayOptions.atCommitGraceMs`), which must be much longer than `markEveryMs`. A
 * message can so be published twice; consumers de-duplicate on the message id.
 *
 * Writers reach it only through the handles of `OutboxWriter` (./outbox): rows written for
 * delivery at commit, whose order against other messages of their key does not matter.
 */
export class CommittedPublisher {
  readonly #options: CommittedPublisherOptions & { markEveryMs: number };
  #published: number[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #marking: Promise<void> = Promise.resolve();

  readonly #markStatement: StatementTemplate<"ids", never>;

  constructor(options: CommittedPublisherOptions) {
    this.#options = { markEveryMs: 200, ...options };
    const outbox = sql.table(`${options.schema}.outbox`);
    // SKIP LOCKED: a row the relay is publishing right now is the relay's to mark; never wait on it.
    this.#markStatement = new StatementTemplate(["ids"], (slot) => sql<never>`
      update ${outbox} set published_at = now()
      where id in (
        select id from ${outbox}
        where id = any(${slot("ids")}::text::bigint[]) and published_at is null
        for update skip locked
      )`);
  }

  /** Publishes the rows now (in order, per topic); resolves once the bus has them or has refused. */
  async publish(messages: QueuedMessage[]): Promise<void> {
    if (messages.length === 0) return;
    try {
      await publishByTopic(this.#options.bus, messages);
    } catch (error) {
      this.#options.logger?.warn("outbox rows not published at commit; the relay will", { schema: this.#options.schema, count: messages.length, error: String(error) });
      return;
    }
    for (const message of messages) this.#published.push(message.id);
    this.#timer ??= setTimeout(() => void this.#mark(), this.#options.markEveryMs);
  }

  /** Marks what was published so far; for shutdown. */
  async flush(): Promise<void> {
    await this.#mark();
  }

  #mark(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const ids = this.#published;
    this.#published = [];
    if (ids.length === 0) return this.#marking;
    const { db, schema, logger } = this.#options;
    this.#marking = this.#marking.then(() =>
      this.#markStatement
        .execute(db, { ids: arrayLiteral(ids) })
        .then(
          () => undefined,
          (error: unknown) => logger?.warn("published outbox rows not marked; the relay will publish them again", { schema, count: ids.length, error: String(error) }),
        ),
    );
    return this.#marking;
  }
}
