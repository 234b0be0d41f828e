import type { Kysely, Migration } from "kysely";
import { addDeadLetterSubjects } from "../../../../shared/messaging/dead-letters/dead-letters.tables";
import { deadLetterSubjects } from "../dead-letter-subjects";

/** Each dead letter's subject (its order), filled in for those already recorded, and indexed for the list. */
export const deadLetterSubjectsMigration: Migration = {
  async up(db: Kysely<any>) {
    await addDeadLetterSubjects(db, deadLetterSubjects);
  },
};
