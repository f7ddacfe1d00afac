import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.ts";
import { createRedactor, PLACEHOLDERS, placeholdersIn, redactionNote } from "../../src/inbox/redact.ts";
import { LUHN_13, SECRETS, leaks, luhnCheckDigit, messageWithEverySecret } from "./secrets.ts";

const redactor = createRedactor();
const redact = async (text: string) => (await redactor.redact(text)).text;

describe("redaction at intake", () => {
  it.each(SECRETS)("removes a $label, leaving its placeholder", async (secret) => {
    const out = await redactor.redact(`Hi, here it is: ${secret.written} — can you check?`);
    expect(leaks(out.text)).toEqual([]);
    expect(out.text).toContain(PLACEHOLDERS[secret.kind]);
    expect(out.removed).toContain(secret.kind);
    expect(out.text.startsWith("Hi, here it is: ")).toBe(true);
    expect(out.text.endsWith(" — can you check?")).toBe(true);
  });

  it("masks a Slack token as a secret before card numbers, even when its 13-digit part passes Luhn", async () => {
    // The case the issue saw: masked as a card number first, the token no longer looked like one and its tail went through.
    expect(luhnCheckDigit(LUHN_13.slice(0, 12))).toBe(LUHN_13.at(-1));
    const token = `xoxb-204815329876-${LUHN_13}-q7RtZp2WvYx9LmN4kB8cD3fG`;
    const out = await redactor.redact(`our bot uses ${token} since Monday`);
    expect(out).toEqual({ text: `our bot uses ${PLACEHOLDERS.secret} since Monday`, removed: ["secret"] });
  });

  it("removes every kind from one message and names each once", async () => {
    const out = await redactor.redact(messageWithEverySecret("I was charged twice."));
    expect(leaks(out.text)).toEqual([]);
    expect(out.removed).toEqual(["secret", "password", "iban", "card", "email", "phone"]);
    expect(out.text.split("\n")[0]).toBe("I was charged twice.");
  });

  it("leaves what only looks like a secret: ids, dates, amounts, numbers failing Luhn, words after 'password is'", async () => {
    const texts = [
      "invoice INV-2001 dated 2024-01-15 for $1,234.56, order 1234567890123",
      "card 4242 4242 4242 4241 was declined",
      "my password is not working and the reset link is expired",
      "the sk-learn model and AKIA are fine words",
    ];
    for (const text of texts) expect(await redactor.redact(text)).toEqual({ text, removed: [] });
  });

  it("finds a card number followed by its expiry and CVV, with dashes or none", async () => {
    expect(await redact("4111-1111-1111-1111 12 27 cvc 123")).toBe(`${PLACEHOLDERS.card} 12 27 cvc ${PLACEHOLDERS.password}`);
    expect(await redact("4111111111111111 please")).toBe(`${PLACEHOLDERS.card} please`);
    expect(await redact("4111 1111 1111 1111 123")).toBe(`${PLACEHOLDERS.card} 123`);
  });

  it("finds passwords written out in the usual ways", async () => {
    expect(await redact("My password for the portal is Hunter22.")).toBe(`My password for the portal is ${PLACEHOLDERS.password}.`);
    expect(await redact("password=abc123XYZ and PIN 4821")).toBe(`password=${PLACEHOLDERS.password} and PIN ${PLACEHOLDERS.password}`);
  });

  it("widens a match over the whole token: no tail of an app token or an AWS secret is left", async () => {
    expect(await redact("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYABCDEFGHIJ end")).toBe(`${PLACEHOLDERS.secret} end`);
    expect(await redact("xapp-1-A0123456789-1234567890123-0123456789abcdef0123456789abcdef.")).toBe(`${PLACEHOLDERS.secret}.`);
  });

  it("keeps e-mail addresses and phone numbers when the team needs them (REDACT_CONTACTS)", async () => {
    const text = "reach me at jordan.private@example.org or +44 20 7946 0958";
    expect(await createRedactor({ emails: false, phones: false }).redact(text)).toEqual({ text, removed: [] });
    expect((await createRedactor({ emails: false, phones: true }).redact(text)).text).toBe(`reach me at jordan.private@example.org or ${PLACEHOLDERS.phone}`);
    // National numbers need the region they are from.
    expect(await createRedactor({ emails: true, phones: true }).redact("call (415) 555-2671")).toEqual({ text: "call (415) 555-2671", removed: [] });
    expect((await createRedactor({ emails: true, phones: true, phoneRegion: "US" }).redact("call (415) 555-2671")).text).toBe(`call ${PLACEHOLDERS.phone}`);
  });

  it("tells the user what was removed in one line, from the placeholders of the stored text", async () => {
    const stored = await redact("card 4242 4242 4242 4242");
    expect(redactionNote(placeholdersIn(stored))).toBe("_I removed a card number from your message; never share it here._");
    expect(redactionNote(["password", "card", "email"])).toBe(
      "_I removed a password, a card number and an e-mail address from your message; never share secrets or payment details here._",
    );
    expect(redactionNote(["email"])).toBe("_I removed an e-mail address from your message: contact details are not kept in this chat._");
    expect(redactionNote(placeholdersIn("nothing here"))).toBeNull();
  });

  it("reads REDACT_CONTACTS and REDACT_PHONE_REGION, and names the variable when one is wrong", () => {
    expect(loadConfig({}).redaction).toEqual({ emails: true, phones: true, phoneRegion: undefined });
    expect(loadConfig({ REDACT_CONTACTS: "phone" }).redaction).toMatchObject({ emails: false, phones: true });
    expect(loadConfig({ REDACT_CONTACTS: "email, phone" }).redaction).toMatchObject({ emails: true, phones: true });
    expect(loadConfig({ REDACT_CONTACTS: "none" }).redaction).toMatchObject({ emails: false, phones: false });
    expect(loadConfig({ REDACT_PHONE_REGION: "gb" }).redaction.phoneRegion).toBe("GB");
    expect(() => loadConfig({ REDACT_CONTACTS: "emails" })).toThrow(/REDACT_CONTACTS: must be "email,phone", "email", "phone" or "none"/);
    expect(() => loadConfig({ REDACT_PHONE_REGION: "XX" })).toThrow(/REDACT_PHONE_REGION: must be a two-letter country code/);
  });
});
