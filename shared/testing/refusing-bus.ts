import type { Bus } from "../bus/bus";

/**
 * The same bus, except that `publish` to `topic` throws while `when()` is true (default: always):
 * a broker that refuses, or a process that "dies" between its commit and its publish.
 */
export function refusingPublish(bus: Bus, topic: string, when: () => boolean = () => true): Bus {
  return new Proxy(bus, {
    get(target, property, receiver) {
      if (property === "publish") {
        return async (to: string, messages: Parameters<Bus["publish"]>[1]) => {
          if (to === topic && when()) throw new Error(`publish to ${topic} refused by the test`);
          return target.publish(to, messages);
        };
      }
      const value = Reflect.get(target, property, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
