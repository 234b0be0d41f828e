import { MemoryBroker } from "./memory-broker";
import { MemoryBus } from "./memory-bus";
import { busContract } from "../testing/bus-contract";

const brokers = new Map<string, MemoryBroker>();

busContract("memory", {
  features: new MemoryBus().features,
  async create({ namespace, retryPolicy }) {
    if (!brokers.has(namespace)) brokers.set(namespace, new MemoryBroker());
    return new MemoryBus({ broker: brokers.get(namespace), retryPolicy });
  },
});
