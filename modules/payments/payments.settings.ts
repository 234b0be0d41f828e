import { z } from "zod";
import { publicUrl } from "../../shared/settings";

/** What the Payments module reads from the environment. */
export interface PaymentsSettings {
  /**
   * Where a browser reaches payments (PAYMENTS_PUBLIC_URL) when another process runs it: the
   * status page of an orders process calls it there. Ignored where payments runs in the process.
   */
  publicUrl: string | undefined;
}

export const paymentsSettings = z
  .object({ PAYMENTS_PUBLIC_URL: publicUrl.optional() })
  .transform((env): PaymentsSettings => ({ publicUrl: env.PAYMENTS_PUBLIC_URL }));
