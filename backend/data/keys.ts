/**
 * Every key of the single table, built in one place. See docs/data-model.md for the access
 * patterns they serve.
 *
 *   PK                      SK                    what
 *   USER#<uid>              PROFILE               a user
 *   USER#<uid>              OPEN_SURVEY           pointer to the user's one open survey
 *   SURVEY#<id>             META                  survey: owner, question set, answer count
 *   SURVEY#<id>             ANSWER#<hmac>         one friend's answer (hmac of the fingerprint)
 *   SURVEY#<id>             SELF                  the owner's own answers
 *   RATE#<scope>#<subject>  WINDOW#<start>        TTL'd rate-limit counter
 */
export interface Key {
  PK: string;
  SK: string;
}

export const keys = {
  user: (uid: string): Key => ({ PK: `USER#${uid}`, SK: "PROFILE" }),
  openSurvey: (uid: string): Key => ({ PK: `USER#${uid}`, SK: "OPEN_SURVEY" }),
  survey: (surveyId: string): Key => ({ PK: `SURVEY#${surveyId}`, SK: "META" }),
  answer: (surveyId: string, fingerprintHash: string): Key => ({ PK: `SURVEY#${surveyId}`, SK: `ANSWER#${fingerprintHash}` }),
  answersOf: (surveyId: string) => ({ PK: `SURVEY#${surveyId}`, SKPrefix: "ANSWER#" }),
  selfAnswer: (surveyId: string): Key => ({ PK: `SURVEY#${surveyId}`, SK: "SELF" }),
  rateWindow: (scope: string, subject: string, windowStart: number): Key => ({
    PK: `RATE#${scope}#${subject}`,
    SK: `WINDOW#${windowStart}`,
  }),
};
