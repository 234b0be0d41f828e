/**
 * Polls `probe` until it returns true (or a truthy promise) or `timeoutMs` passes; then throws
 * with `what` so the failing expectation is named. Async tests wait with this, never a bare sleep.
 */
export async function eventually(
  probe: () => boolean | Promise<boolean>,
  timeoutMs = 5_000,
  what = "condition",
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      if (await probe()) return;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ""}`);
    }
    await Bun.sleep(10);
  }
}
