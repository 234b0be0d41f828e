/**
 * How late this process's event loop runs, smoothed: a timer due every `intervalMs` notes how late
 * it fires, and `delayMs` is a moving average of that lateness (time constant about ten ticks).
 * A process whose loop runs late answers everything late, its health probes included, so while
 * `delayMs` is past a bound new work is refused (see Admission). One pause (a garbage collection,
 * a large batch) moves the average by a tenth of its length; only lateness that lasts crosses it.
 */
export class EventLoopDelay {
  #delayMs = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  #last = 0;

  constructor(private readonly intervalMs = 20) {}

  /** The smoothed lateness of the loop, in ms. */
  get delayMs(): number {
    return this.#delayMs;
  }

  start(): void {
    if (this.#timer) return;
    this.#last = performance.now();
    this.#timer = setInterval(() => this.#tick(), this.intervalMs);
    // Measuring must not keep a process alive that would otherwise exit.
    this.#timer.unref?.();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #tick(): void {
    const now = performance.now();
    const late = Math.max(0, now - this.#last - this.intervalMs);
    this.#last = now;
    this.#delayMs += (late - this.#delayMs) / 10;
  }
}
