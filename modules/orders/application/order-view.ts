import { toMajorUnits } from "../../../shared/money";
import type { OrderRow } from "../db/orders.repository";
import type { OrderStatus } from "../domain/order-status";

/** An order as the API and the WebSocket show it (amount in major units). */
export interface OrderView {
  id: string;
  userId: string;
  amount: number;
  description: string;
  status: OrderStatus;
  failureReason?: string;
  createdAt: string;
  updatedAt: string;
}

export function toOrderView(row: OrderRow): OrderView {
  return {
    id: row.id,
    userId: row.user_id,
    amount: toMajorUnits(row.amount),
    description: row.description,
    status: row.status,
    ...(row.failure_reason ? { failureReason: row.failure_reason } : {}),
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}
