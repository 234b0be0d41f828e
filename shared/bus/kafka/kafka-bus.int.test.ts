import { Kafka, logLevel } from "kafkajs";
import { busContract } from "../testing/bus-contract";
import { createKafkaBus } from "./kafka-bus";

// compose.yaml starts a Kafka; there is none on the development machines.
const brokers = process.env.KAFKA_BROKERS?.split(",").map((broker) => broker.trim());

busContract("kafka", {
  features: { persistent: true, consumerGroups: true, orderedPerKey: true, broadcast: true },
  skip: brokers ? undefined : "KAFKA_BROKERS is not set: no Kafka broker on this machine",
  create: ({ namespace, retryPolicy }) => createKafkaBus({ brokers: brokers!, clientId: namespace, ssl: false, retryPolicy }),
  // Every topic of a run, and so every group (named `<group>.<topic>`), contains the namespace.
  async cleanup(namespace) {
    const admin = new Kafka({ brokers: brokers!, clientId: namespace, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const { groups } = await admin.listGroups();
      const groupIds = groups.map((group) => group.groupId).filter((id) => id.includes(namespace));
      if (groupIds.length > 0) await admin.deleteGroups(groupIds).catch(() => {});
      const topics = (await admin.listTopics()).filter((topic) => topic.startsWith(namespace));
      if (topics.length > 0) await admin.deleteTopics({ topics });
    } finally {
      await admin.disconnect();
    }
  },
});
