import { paymentProcessedTopic, refundProcessedTopic } from "../../../shared/contracts";
import type { SubjectPath } from "../../../shared/messaging/dead-letters/dead-letter-subject";

/** What a message Orders consumes is about: its order, whose id every one carries in its payload. */
export const orderSubject: SubjectPath = ["payload", "orderId"];

/** The subject of each topic Orders consumes: its dead letters are listed and looked up by it. */
export const deadLetterSubjects: Readonly<Record<string, SubjectPath>> = {
  [paymentProcessedTopic]: orderSubject,
  [refundProcessedTopic]: orderSubject,
};
