import type { Admin } from "kafkajs";

/**
 * The admin side of the Kafka bus. It creates topics before first use, once per topic and
 * process: creating them ourselves (never letting a broker auto-create one on a metadata request)
 * is what gives every topic the bus's partition count. The replication factor is the cluster's
 * `default.replication.factor`.
 */
export class KafkaTopics {
  readonly #known = new Map<string, Promise<void>>();
  #connecting: Promise<void> | undefined;

  constructor(
    private readonly admin: Admin,
    private readonly partitions: number,
  ) {}

  /** Connects once; after a failure the next call tries again. */
  connect(): Promise<void> {
    this.#connecting ??= this.admin.connect().catch((error: unknown) => {
      this.#connecting = undefined;
      throw error;
    });
    return this.#connecting;
  }

  /** Resolves once every topic exists; one that already existed (made by any process) counts. */
  async ensure(topics: string[]): Promise<void> {
    await Promise.all(topics.map((topic) => this.#ensureOne(topic)));
  }

  /** Each partition's end offset: where a reader of only the messages from now on starts. */
  async endOffsets(topic: string): Promise<Array<{ partition: number; offset: string }>> {
    await this.connect();
    const offsets = await this.admin.fetchTopicOffsets(topic);
    return offsets.map(({ partition, offset }) => ({ partition, offset }));
  }

  /** Deletes a consumer group; it must have no members left. */
  async deleteGroup(groupId: string): Promise<void> {
    await this.admin.deleteGroups([groupId]);
  }

  /** Resolves when the cluster answers a metadata request. */
  async probe(): Promise<void> {
    await this.connect();
    await this.admin.describeCluster();
  }

  disconnect(): Promise<void> {
    return this.admin.disconnect();
  }

  #ensureOne(topic: string): Promise<void> {
    let known = this.#known.get(topic);
    if (!known) {
      known = this.#create(topic);
      this.#known.set(topic, known);
      known.catch(() => this.#known.delete(topic)); // not cached: the next use tries again
    }
    return known;
  }

  async #create(topic: string): Promise<void> {
    await this.connect();
    // Resolves false when the topic exists already; any other failure rejects.
    await this.admin.createTopics({ topics: [{ topic, numPartitions: this.partitions }], waitForLeaders: true }).catch((error: unknown) => {
      throw topicCreationError(topic, error);
    });
  }
}

/**
 * kafkajs rejects a failed CreateTopics with "Topic creation errors" and the reasons only inside
 * (`errors`, one per topic); its own log line of it is kept at debug (kafka-log.ts), so the
 * error this bus reports names them.
 */
export function topicCreationError(topic: string, error: unknown): Error {
  const reasons = (error as { errors?: unknown }).errors;
  if (!Array.isArray(reasons) || reasons.length === 0) return error instanceof Error ? error : new Error(String(error));
  const described = reasons.map((reason: { type?: string; message?: string }) => [reason.type, reason.message].filter(Boolean).join(": "));
  return new Error(`could not create Kafka topic ${topic}: ${described.join("; ")}`, { cause: error });
}
