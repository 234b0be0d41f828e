/** Wakes every waiter at once; a waiter that arrives after a notify waits for the next one. */
export class Notifier {
  #waiters: Array<() => void> = [];

  /** Resolves at the next notify(), or after `timeoutMs`, whichever comes first. */
  wait(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(wake, timeoutMs);
      const waiters = this.#waiters;
      function wake() {
        clearTimeout(timer);
        const index = waiters.indexOf(wake);
        if (index >= 0) waiters.splice(index, 1);
        resolve();
      }
      waiters.push(wake);
    });
  }

  notify(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    // Each wake() removes itself from `waiters`, so walk a copy.
    for (const wake of [...waiters]) wake();
  }
}
