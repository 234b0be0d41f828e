export { createKafkaBus, KafkaBus, type KafkaBusOptions } from "./kafka-bus";
