/** The little a bus adapter needs of a logger (the app's structured logger fits it). */
export interface BusLogger {
  /** Optional: lines an adapter keeps for troubleshooting only (dropped when absent). */
  debug?(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}
