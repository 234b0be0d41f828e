export * from "./envelope";
export * from "./order-created";
export * from "./payment-processed";
