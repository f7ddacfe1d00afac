import { createHmac, timingSafeEqual } from "node:crypto";
import { InputError } from "../../src/errors.ts";

/**
 * The identity-verification scheme chat widgets use: the customer's backend, which knows who is
 * signed in, gives the page `userHash` = hex HMAC-SHA256 of the userId under `API_USER_SECRET`.
 * The API then believes that userId, and only that one.
 */
export function userHash(secret: string, userId: string): string {
  return createHmac("sha256", secret).update(userId, "utf8").digest("hex");
}

/** Whether `given` is the userId's hash under `secret`, compared in constant time (hex, either case). */
export function userHashMatches(secret: string, userId: string, given: string | undefined): boolean {
  if (given === undefined || !/^[0-9a-f]{64}$/i.test(given)) return false;
  return timingSafeEqual(Buffer.from(given.toLowerCase(), "hex"), Buffer.from(userHash(secret, userId), "hex"));
}

/** Whether an `Authorization: Bearer …` header carries `token`, compared in constant time. */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const given = Buffer.from(header?.replace(/^Bearer\s+/i, "") ?? "");
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * Checks that the caller speaks for `userId`: with `API_USER_SECRET` set, `hash` must be that
 * user's `userHash`. Throws a 401 `InputError` that says what to send.
 */
export function requireUserHash(secret: string | undefined, userId: string, hash: string | undefined): void {
  if (secret === undefined) return;
  if (hash === undefined || hash === "") {
    throw new InputError("user_hash_required", "Send userHash: the hex HMAC-SHA256 of userId under API_USER_SECRET, computed by your backend.", 401);
  }
  if (!userHashMatches(secret, userId, hash)) throw new InputError("bad_user_hash", "userHash does not match userId.", 401);
}
