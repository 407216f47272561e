/**
 * Who may see a persona. Private by default (`public` absent); its owner makes it public.
 * Everything that hands a persona to someone else goes through `viewablePersona`, which
 * answers "no such persona" alike for unknown, private and not-yet-ready personas, so a
 * caller can never tell a private persona from one that does not exist.
 */
import { GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { PersonaId } from "../data/ids.ts";
import { keys } from "../data/keys.ts";
import { isConditionFailed, table } from "../data/table.ts";
import { NotFoundError } from "../errors.ts";
import { getPersona, type Persona, type PersonaVersion } from "../personas/model.ts";

/** A persona with a ready version: the only kind anyone else ever sees. */
export type ReadyPersona = Persona & { current: PersonaVersion };

/** The one message for unknown, private and unready personas alike. */
export const NO_SUCH_PERSONA = "No such public persona";


export interface Visibility {
  personaId: string;
  public: boolean;
}

/**
 * Makes the user's persona public or private. The persona must exist (a saga was started
 * at least once); it need not be ready yet: its card appears once a version is.
 * @example await setVisibility(tableName, uid, true);
 */
export async function setVisibility(tableName: string, uid: string, isPublic: boolean): Promise<Visibility> {
  try {
    const { Attributes } = await table().send(
      new UpdateCommand({
        TableName: tableName,
        Key: keys.persona(uid),
        // Only the flag: the saga's conditions (saga id, status, event sequence) stay untouched.
        UpdateExpression: "SET #public = :public",
        ConditionExpression: "attribute_exists(PK)",
        ExpressionAttributeNames: { "#public": "public" },
        ExpressionAttributeValues: { ":public": isPublic },
        ReturnValues: "ALL_NEW",
      }),
    );
    return { personaId: (Attributes as Persona).personaId, public: isPublic };
  } catch (error) {
    if (isConditionFailed(error)) throw new NotFoundError("You have no persona yet: start one with POST /v1/personas/me");
    throw error;
  }
}

/** The owner's uid for a public persona id, or undefined. */
async function ownerOf(tableName: string, personaId: string): Promise<string | undefined> {
  // Handlers check ids first; a domain caller that did not still never builds a key from junk.
  if (!PersonaId.safeParse(personaId).success) return undefined;
  // The pointer never changes once written, so an eventually consistent read (half price) is enough.
  const { Item } = await table().send(new GetCommand({ TableName: tableName, Key: keys.personaOwner(personaId) }));
  return typeof Item?.uid === "string" ? Item.uid : undefined;
}

/**
 * The persona `personaId` as `viewerUid` may see it: ready, and public or the viewer's own.
 * Anything else is the same NotFoundError. `viewerUid` undefined: an anonymous viewer.
 */
export async function viewablePersona(tableName: string, personaId: string, viewerUid?: string): Promise<ReadyPersona> {
  const uid = await ownerOf(tableName, personaId);
  // Strongly consistent: a persona made private a moment ago must not be shown.
  const persona = uid === undefined ? undefined : await getPersona(tableName, uid);
  const visible = persona?.public === true || (viewerUid !== undefined && persona?.uid === viewerUid);
  if (!persona?.current || !visible) throw new NotFoundError(NO_SUCH_PERSONA);
  return persona as ReadyPersona;
}

/** The user's own persona, once it has a ready version. */
export async function ownReadyPersona(tableName: string, uid: string): Promise<ReadyPersona> {
  const persona = await getPersona(tableName, uid);
  if (!persona?.current) throw new NotFoundError("Your persona is not ready yet");
  return persona as ReadyPersona;
}
