import { orderCreatedTopic, refundRequestedTopic } from "../../../shared/contracts";
import type { SubjectPath } from "../../../shared/messaging/dead-letters/dead-letter-subject";

/** What a message Payments consumes is about: its order, whose id every one carries in its payload. */
export const orderSubject: SubjectPath = ["payload", "orderId"];

/** The subject of each topic Payments consumes: its dead letters are listed and looked up by it. */
export const deadLetterSubjects: Readonly<Record<string, SubjectPath>> = {
  [orderCreatedTopic]: orderSubject,
  [refundRequestedTopic]: orderSubject,
};
