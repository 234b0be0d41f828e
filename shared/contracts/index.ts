export * from "./envelope";
export * from "./order-created";
export * from "./payment-processed";
export * from "./refund-requested";
export * from "./refund-processed";
export * from "./trace-attributes";
