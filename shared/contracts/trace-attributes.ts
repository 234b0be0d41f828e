/**
 * The baggage entry every message of an order carries when tracing is on: set where
 * the order's first message is written, carried in the messages' trace headers, and shown as an
 * attribute of every span of the order's trace, in both processes.
 */
export const orderIdAttribute = "gozon.order_id";
