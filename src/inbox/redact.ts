import { lintSource } from "@secretlint/core";
import { secretLintProfiler } from "@secretlint/profiler";
import { creator as recommendedRules } from "@secretlint/secretlint-rule-preset-recommend";
import { countrySpecs, electronicFormatIBAN, isValidIBAN } from "ibantools";
import { findPhoneNumbersInText, type CountryCode } from "libphonenumber-js/max";

/**
 * What a user pastes by mistake, removed from a message before anything keeps it: the intake
 * calls this once, before the message is stored, so the database, the graph's checkpoints, the
 * logs, staff cards and every model prompt only ever hold the placeholders.
 *
 * Order matters, each pass working on what the one before left: keys and tokens first (a Slack
 * token's 13-digit part may pass the Luhn check, and masking it as a card number first would
 * leave the token's secret tail in the text), then passwords written out, IBANs (their digits
 * could pass for a card number), card numbers, e-mail addresses and phone numbers.
 */

/** What was removed. `secret`: an API key, token, private key or credentials in a URL. */
export type RedactedKind = "secret" | "password" | "iban" | "card" | "email" | "phone";

/** The text that takes each removed value's place. */
export const PLACEHOLDERS = {
  secret: "[secret removed]",
  password: "[password removed]",
  iban: "[IBAN removed]",
  card: "[card number removed]",
  email: "[e-mail removed]",
  phone: "[phone number removed]",
} as const satisfies Record<RedactedKind, string>;

export interface RedactionSettings {
  /** Remove e-mail addresses (`REDACT_CONTACTS` contains `email`). Default true. */
  emails: boolean;
  /** Remove phone numbers (`REDACT_CONTACTS` contains `phone`). Default true. */
  phones: boolean;
  /**
   * Where numbers written without a country code are from (`REDACT_PHONE_REGION`, e.g. `US`):
   * then `(415) 555-2671` is found too. Unset: only international numbers (`+1 415 555 2671`).
   */
  phoneRegion?: CountryCode | undefined;
}

export const DEFAULT_REDACTION = { emails: true, phones: true, phoneRegion: undefined } as const satisfies Required<RedactionSettings>;

export interface Redacted {
  text: string;
  /** The kinds removed, each once, in the order of the passes. Empty: the text is unchanged. */
  removed: RedactedKind[];
}

/** One step: `redact(text)` resolves to the text with every value it found replaced. */
export interface Redactor {
  redact(text: string): Promise<Redacted>;
}

// secretlint's profiler is on by default and keeps a performance mark per rule per call: in a
// long-running service that is memory that grows with every message (118 MB after 9,000 calls).
secretLintProfiler.setEnabled(false);

const SECRETLINT = {
  rules: [
    {
      id: "@secretlint/secretlint-rule-preset-recommend",
      rule: recommendedRules,
      // An AWS access key id alone is off by default (it is a file scanner's noise); pasted in a chat it is part of a credential.
      rules: [{ id: "@secretlint/secretlint-rule-aws", options: { enableIDScanRule: true } }],
    },
  ],
} satisfies Parameters<typeof lintSource>[0]["options"]["config"];

/**
 * Token shapes a chat message has that secretlint's recommended rules (written for files) miss
 * or only partly cover: JWTs, OpenAI keys without the `T3BlbkFJ` marker, Slack app tokens (the
 * rule stops before the secret), a private key block cut short, a bearer token, Google API keys.
 */
const TOKEN_PATTERNS: readonly RegExp[] = [
  /-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|$)/g,
  /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g,
  /\bxox[abeoprs]-[A-Za-z0-9-]{10,}/g,
  /\bxapp-\d-[A-Za-z0-9-]{10,}/g,
  /\bsk-(?:proj-|svcacct-|admin-|ant-)?[A-Za-z0-9_-]{20,}/g,
  /\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{10,}/g,
  /\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{20,}/g,
  /\bgithub_pat_[A-Za-z0-9_]{20,}/g,
  /\b(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA)[A-Z0-9]{16}\b/g,
  /\bAIza[0-9A-Za-z_-]{35}/g,
  /\b[a-z][a-z0-9+.-]{1,20}:\/\/[^\s/:@]{1,128}:[^\s/@]{1,256}@\S+/gi,
  /\bBearer\s+[A-Za-z0-9._~+/-]{16,}=*/g,
  // A credential assigned to a name that says what it is: `aws_secret_access_key=…`, `"api_key": "…"`, `client_secret: …`.
  /\b[A-Za-z_]{0,40}(?:secret|token|api_?key|access_?key|private_?key|auth_?key)[A-Za-z_]{0,40}["']?\s*[:=]\s*["']?[A-Za-z0-9/+=._~-]{12,}/gi,
];

/** Characters a token is made of: a match is widened over them so no part of a token stays behind. */
const TOKEN_CHAR = /[A-Za-z0-9_\-+/=.]/;

/**
 * "my password is …", "pwd: …", "PIN=…", "cvv 123". With `is`/`was` the next word is taken
 * unless it is one of the words people write there about the password itself ("my password is
 * not working"); after `:` or `=` it is always taken.
 */
const PASSWORD_WORD = String.raw`(?:password|passwort|passwd|passcode|passphrase|pass\s?word|pwd|pw|pin(?:\s?code)?|cvv2?|cvc2?|security\s+code|one[- ]time\s+code|otp|2fa\s+code)`;
const PASSWORD = new RegExp(
  String.raw`\b(${PASSWORD_WORD}(?:\s+(?:for|on|to|of)(?:\s+[^\s:=]+){1,3}?)?)(\s*[:=]\s*|\s+(?:is|was|=)\s*:?\s*|\s+(?=\d{3,8}\b))(["'“‘]?)([^\s"'”’]+)`,
  "gi",
);
const NOT_A_PASSWORD = new Set(
  ("not no wrong incorrect invalid expired locked correct right too very still being been the a an my your this that it " +
    "rejected accepted working broken forgotten lost reset changed missing required empty blank case weak strong long short " +
    "fine ok okay same different new old now already never always just definitely probably also really").split(" "),
);

const IBAN_CANDIDATE = /\b[A-Z]{2}\d{2}(?:[ -]?[A-Z0-9]){10,32}/gi;
const DIGIT_RUN = /(?<!\d)\d(?:[ -]?\d){12,}(?!\d)/g;
const EMAIL_LOCAL = /[A-Za-z0-9._%+-]/;
const EMAIL_DOMAIN = /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}/;
/** Runs of characters a phone number is written with, not glued to a word before them. */
const PHONE_RUN = /(?<![\p{L}\d])[+(]?\d(?:[\d ().-]*\d)?/gu;

/** Creates the redactor the intake runs on every message. */
export function createRedactor(settings: RedactionSettings = DEFAULT_REDACTION): Redactor {
  return {
    async redact(input) {
      const removed = new Set<RedactedKind>();
      const mark = (kind: RedactedKind) => (removed.add(kind), PLACEHOLDERS[kind]);
      let text = await removeSecrets(input, () => mark("secret"));
      text = text.replace(PASSWORD, (whole, word: string, connector: string, quote: string, value: string) => {
        const bare = value.replace(/[.,;!?)]+$/, "");
        if (bare === "" || value.startsWith("[")) return whole;
        if (!/[:=]/.test(connector) && NOT_A_PASSWORD.has(bare.toLowerCase())) return whole;
        return `${word}${connector}${quote}${mark("password")}${value.slice(bare.length)}`;
      });
      text = removeIbans(text, () => mark("iban"));
      text = text.replace(DIGIT_RUN, (run) => removeCards(run, () => mark("card")));
      if (settings.emails) text = removeEmails(text, () => mark("email"));
      if (settings.phones) text = removePhones(text, settings.phoneRegion, () => mark("phone"));
      return { text, removed: [...removed] };
    },
  };
}

/** Every kind a stored text shows a placeholder for, in the order of the passes. */
export function placeholdersIn(text: string): RedactedKind[] {
  return (Object.keys(PLACEHOLDERS) as RedactedKind[]).filter((kind) => text.includes(PLACEHOLDERS[kind]));
}

const SECRET_KINDS: ReadonlySet<RedactedKind> = new Set(["secret", "password", "iban", "card"]);
const NAMES: Record<RedactedKind, string> = {
  secret: "a key or token",
  password: "a password",
  iban: "a bank account number (IBAN)",
  card: "a card number",
  email: "an e-mail address",
  phone: "a phone number",
};

/**
 * The one line the user is told when something was removed from their message, or null, e.g.
 * "I removed a card number from your message; never share it here."
 */
export function redactionNote(removed: readonly RedactedKind[]): string | null {
  if (removed.length === 0) return null;
  const names = removed.map((k) => NAMES[k]);
  const list = names.length === 1 ? names[0]! : `${names.slice(0, -1).join(", ")} and ${names.at(-1)!}`;
  const secrets = removed.filter((k) => SECRET_KINDS.has(k)).length;
  if (secrets === 0) return `_I removed ${list} from your message: contact details are not kept in this chat._`;
  return `_I removed ${list} from your message; never share ${secrets === 1 && removed.length === 1 ? "it" : "secrets or payment details"} here._`;
}

// ------------------------------------------------------------------------------------------ passes

/**
 * Every token secretlint's rules find is a run of at least 16 characters without a space (keys,
 * URLs with credentials, key blocks' base64 lines). Most chat messages have none, and a lint
 * call allocates enough that the garbage collector took a quarter of its time: it runs only on
 * messages that have one.
 */
const MAY_HOLD_A_TOKEN = /\S{16,}/;

async function removeSecrets(text: string, placeholder: () => string): Promise<string> {
  const spans: Array<[number, number]> = [];
  if (MAY_HOLD_A_TOKEN.test(text)) {
    const result = await lintSource({ source: { content: text, filePath: "/message.txt", ext: ".txt", contentType: "text" }, options: { config: SECRETLINT } });
    for (const m of result.messages) spans.push([m.range[0], m.range[1]]);
  }
  for (const pattern of TOKEN_PATTERNS) {
    for (const m of text.matchAll(pattern)) spans.push([m.index, m.index + m[0].length]);
  }
  if (spans.length === 0) return text;
  // Widen each span to the whole token (a rule's range may stop short of the secret part, or start after its name).
  const widened = spans.map(([start, end]): [number, number] => {
    while (start > 0 && TOKEN_CHAR.test(text[start - 1]!)) start--;
    while (end < text.length && TOKEN_CHAR.test(text[end]!)) end++;
    // A token at the end of a sentence: keep the full stop.
    while (end > start && text[end - 1] === ".") end--;
    return [start, end];
  });
  widened.sort((a, b) => a[0] - b[0]);
  let out = "";
  let at = 0;
  for (const [start, end] of widened) {
    if (end <= at) continue;
    if (start >= at) out += text.slice(at, start) + placeholder();
    at = end;
  }
  return out + text.slice(at);
}

/**
 * IBANs that pass their check digits, written with or without spaces or dashes. A candidate's
 * country says how long its IBAN is: only that prefix of it is checked (once per candidate).
 */
function removeIbans(text: string, placeholder: () => string): string {
  let out = "";
  let at = 0;
  IBAN_CANDIDATE.lastIndex = 0;
  for (let m = IBAN_CANDIDATE.exec(text); m; m = IBAN_CANDIDATE.exec(text)) {
    const candidate = m[0];
    const length = IBAN_LENGTHS.get(candidate.slice(0, 2).toUpperCase());
    const end = length === undefined ? -1 : endOfIban(candidate, length);
    if (end === -1 || !isValidIBAN(electronicFormatIBAN(candidate.slice(0, end)) ?? "")) {
      IBAN_CANDIDATE.lastIndex = m.index + 1;
      continue;
    }
    out += text.slice(at, m.index) + placeholder();
    at = m.index + end;
    IBAN_CANDIDATE.lastIndex = at;
  }
  return out + text.slice(at);
}

/** IBAN length by country, from ibantools' registry. */
const IBAN_LENGTHS = new Map(Object.entries(countrySpecs).flatMap(([country, spec]) => (spec.chars ? [[country, spec.chars] as const] : [])));

/** Where the candidate's first `length` letters and digits end, if that is where a word ends too; else -1. */
function endOfIban(candidate: string, length: number): number {
  let count = 0;
  for (let i = 0; i < candidate.length; i++) {
    if (/[A-Za-z0-9]/.test(candidate[i]!)) count++;
    if (count === length) return /[A-Za-z0-9]/.test(candidate[i + 1] ?? "") ? -1 : i + 1;
  }
  return -1;
}

/**
 * A run of digits (single spaces or dashes between groups) is a card number when it has 13–19
 * digits and passes the Luhn check; a longer run (a card number followed by its expiry or CVV) is
 * searched, left to right, for group-aligned parts that are one and start like one (2–6). A part
 * has at most 19 digits, so the search stays linear in the run's length (a 4,000-character run
 * of "1 1 1 …" is a message anyone can send).
 */
function removeCards(run: string, placeholder: () => string): string {
  const digits = run.replace(/\D/g, "");
  if (digits.length >= 13 && digits.length <= 19 && luhn(digits)) return placeholder();
  const groups = [...run.matchAll(/\d+/g)].map((g) => ({ start: g.index, end: g.index + g[0].length, digits: g[0] }));
  let out = "";
  let at = 0;
  for (let first = 0; first < groups.length; ) {
    let last = -1;
    let number = "";
    for (let i = first; i < groups.length && number.length + groups[i]!.digits.length <= 19; i++) {
      number += groups[i]!.digits;
      if (number.length >= 13 && /^[2-6]/.test(number) && luhn(number)) last = i;
    }
    if (last === -1) {
      first++;
      continue;
    }
    out += run.slice(at, groups[first]!.start) + placeholder();
    at = groups[last]!.end;
    first = last + 1;
  }
  return out + run.slice(at);
}

function luhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/**
 * E-mail addresses, found from each "@" outwards (a regular expression scanning for the local
 * part first takes quadratic time on a long word, and anyone can send one).
 */
function removeEmails(text: string, placeholder: () => string): string {
  let out = "";
  let at = 0;
  for (let i = text.indexOf("@"); i !== -1; i = text.indexOf("@", i + 1)) {
    let start = i;
    while (start > at && EMAIL_LOCAL.test(text[start - 1]!)) start--;
    if (start === i) continue;
    const domain = EMAIL_DOMAIN.exec(text.slice(i + 1, i + 1 + 255));
    if (!domain) continue;
    out += text.slice(at, start) + placeholder();
    at = i + 1 + domain[0].length;
    i = at - 1;
  }
  return out + text.slice(at);
}

function removePhones(text: string, region: CountryCode | undefined, placeholder: () => string): string {
  // libphonenumber finds numbers by their real numbering plans (not any run of digits), so an
  // invoice number or a date stays; without a region only numbers with a country code count.
  // It is given each run of digits and punctuation with 7 digits or more, not the whole text:
  // its matcher takes hundreds of milliseconds on 4,000 characters of "1 1 1 …", and a bounded
  // number of tries per run keeps a degenerate run cheap.
  const options = { ...(region ? { defaultCountry: region } : {}), maxTries: 20 };
  let out = "";
  let at = 0;
  for (const run of text.matchAll(PHONE_RUN)) {
    if (run[0].replace(/\D/g, "").length < 7) continue;
    for (const n of findPhoneNumbersInText(run[0], options)) {
      const start = run.index + n.startsAt;
      if (start < at) continue;
      out += text.slice(at, start) + placeholder();
      at = run.index + n.endsAt;
    }
  }
  return out + text.slice(at);
}
