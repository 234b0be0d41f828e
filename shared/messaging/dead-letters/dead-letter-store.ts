import type { DeadLetterState } from "./dead-letters.tables";

/** A dead letter as the admin API lists it. */
export interface DeadLetterSummary {
  id: string;
  /** The module whose table holds it (in mono, both modules' dead letters are listed together). */
  module: string;
  topic: string;
  key: string;
  /** What the message is about, as the consuming module reads it (e.g. an id); null when unreadable. */
  subject: string | null;
  error: string;
  attempts: number;
  firstFailedAt: Date;
  lastFailedAt: Date;
  replayCount: number;
  state: DeadLetterState;
}

/** A dead letter with its message, as the admin API shows one. */
export interface DeadLetter extends DeadLetterSummary {
  /** The message exactly as it was published (our events: the JSON envelope). */
  message: string;
  headers: Record<string, string>;
}

/** Where a page of the list starts: strictly older than this (last failure, then id). */
export interface DeadLetterCursor {
  lastFailedAt: Date;
  id: string;
}

export interface DeadLetterListFilter {
  topic?: string;
  /** Only the dead letters about this (exact match on `subject`). */
  subject?: string;
  state?: DeadLetterState;
  before?: DeadLetterCursor;
  limit: number;
}

export interface RedriveFilter {
  topic?: string;
  /** Case-insensitive substring of the last error. */
  errorContains?: string;
}

/** The answer to a re-drive: the dead letter after it, or why there was none. */
export type RedriveResult = { redriven: DeadLetter } | { refused: "unknown" | "discarded" };

/**
 * One module's dead letters (docs/architecture.md#operations), as the admin routes see them: a
 * port, so one route set can serve the stores of every module a process runs.
 */
export interface DeadLetterStore {
  readonly module: string;
  /** The topics whose dead letters this store keeps (those the module consumes). */
  readonly topics: readonly string[];
  /** Newest first: by last failure, then id, both descending; at most `limit`. */
  list(filter: DeadLetterListFilter): Promise<DeadLetterSummary[]>;
  find(id: string): Promise<DeadLetter | undefined>;
  /**
   * Publishes the original message (same key, same value, so the same envelope id) to its original
   * topic, then marks the row re-driven and counts the replay, in one transaction that holds the
   * row: a dead-lettering of the re-driven message that races it lands after it (pending again).
   * The consumer's inbox still applies a message at most once, however often it is re-driven.
   * Refused for a discarded dead letter. Rejects with DependencyUnavailableError when the bus
   * does not take the message (nothing changes then).
   */
  redrive(id: string): Promise<RedriveResult>;
  /** Marks it discarded: kept for the record, never re-driven (deleted after the retention window). */
  discard(id: string): Promise<DeadLetter | undefined>;
  /** Re-drives every pending dead letter that matches, oldest failure first; resolves with how many. */
  redriveMatching(filter: RedriveFilter): Promise<number>;
  /** Rows per topic and state, for the metrics. */
  counts(): Promise<{ topic: string; state: DeadLetterState; count: number }[]>;
}
