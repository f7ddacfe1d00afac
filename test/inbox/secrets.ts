/**
 * One value of each kind the intake must remove, with the substrings that must never be found
 * anywhere afterwards (the whole value, and the parts a partial mask would leave behind).
 */

/** The Luhn check digit that makes `digits + check` pass. */
export function luhnCheckDigit(digits: string): string {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return String((10 - (sum % 10)) % 10);
}

/** 12 digits + a check digit: a 13-digit group that passes Luhn (what masked a Slack token as a card number). */
export const LUHN_13 = "480917263541" + luhnCheckDigit("480917263541");
const SLACK_TAIL = "q7RtZp2WvYx9LmN4kB8cD3fG";

export interface Secret {
  kind: "secret" | "password" | "iban" | "card" | "email" | "phone";
  label: string;
  /** As the user writes it in the message. */
  written: string;
  /** Must not appear anywhere once the message went in. */
  needles: string[];
}

export const SECRETS: Secret[] = [
  { kind: "secret", label: "Slack bot token whose 13-digit part passes Luhn", written: `xoxb-204815329876-${LUHN_13}-${SLACK_TAIL}`, needles: [SLACK_TAIL, LUHN_13, `xoxb-204815329876`] },
  { kind: "secret", label: "Slack user token", written: "xoxp-204815329876-204815329877-204815329878-0f9e8d7c6b5a49382716f5e4d3c2b1a0", needles: ["0f9e8d7c6b5a49382716f5e4d3c2b1a0"] },
  { kind: "secret", label: "Slack app token", written: "xapp-1-A0ABCDEF123-4809172635418-9d8c7b6a5f4e3d2c1b0a99887766554433221100ffeeddccbbaa", needles: ["9d8c7b6a5f4e3d2c1b0a99887766554433221100ffeeddccbbaa", "A0ABCDEF123"] },
  { kind: "secret", label: "GitHub token", written: "ghp_R7sT2uV9wX4yZ1aB6cD3eF8gH5iJ0kL2mN7o", needles: ["R7sT2uV9wX4yZ1aB6cD3eF8gH5iJ0kL2mN7o"] },
  { kind: "secret", label: "AWS access key id", written: "AKIAZ7QW3ERT5YUI2OPL", needles: ["AKIAZ7QW3ERT5YUI2OPL"] },
  { kind: "secret", label: "AWS secret access key", written: "aws_secret_access_key=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", needles: ["Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdo"] },
  { kind: "secret", label: "OpenAI project key", written: "sk-proj-Ab3Cd5Ef7Gh9Ij1Kl3Mn5Op7Qr9St1Uv3Wx5Yz7", needles: ["Ab3Cd5Ef7Gh9Ij1Kl3Mn5Op7Qr9St1Uv3Wx5Yz7"] },
  { kind: "secret", label: "Stripe live secret key", written: "sk_live_51Jx8QpLm2Nv4Rt6Yu8Io0Pa", needles: ["51Jx8QpLm2Nv4Rt6Yu8Io0Pa"] },
  { kind: "secret", label: "Stripe restricted key", written: "rk_live_51Jx8QpLm2Nv4Rt6Yu8Io0Pb", needles: ["51Jx8QpLm2Nv4Rt6Yu8Io0Pb"] },
  {
    kind: "secret",
    label: "JWT",
    written: "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJqb3JkYW4iLCJyb2xlIjoiYWRtaW4ifQ.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg",
    needles: ["eyJzdWIiOiJqb3JkYW4iLCJyb2xlIjoiYWRtaW4ifQ", "c2lnbmF0dXJlLW9mLXRoZS10b2tlbg"],
  },
  {
    kind: "secret",
    label: "private key block",
    written: "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\nQyNTUxOQAAACBmYWtla2V5ZmFrZWtleWZha2VrZXlmYWtla2V5ZmFrZWtleQAAAJgAAAAA\n-----END OPENSSH PRIVATE KEY-----",
    needles: ["b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ", "QyNTUxOQAAACBmYWtla2V5ZmFrZWtleWZha2VrZXlm"],
  },
  { kind: "secret", label: "basic auth in a URL", written: "https://deploy:Wq8vRz3Tp6Yx@status.example.com/v1/health", needles: ["Wq8vRz3Tp6Yx"] },
  { kind: "password", label: "password in a sentence", written: "my password is Tr0ub4dor&3", needles: ["Tr0ub4dor&3"] },
  { kind: "password", label: "password after a short name", written: "pwd: CorrectHorse9Battery", needles: ["CorrectHorse9Battery"] },
  { kind: "card", label: "card number", written: "4242 4242 4242 4242", needles: ["4242 4242 4242 4242", "4242424242424242"] },
  { kind: "iban", label: "IBAN", written: "DE89 3704 0044 0532 0130 00", needles: ["DE89 3704 0044 0532 0130 00", "DE89370400440532013000", "3704 0044 0532"] },
  { kind: "email", label: "e-mail address", written: "jordan.private@example.org", needles: ["jordan.private@example.org"] },
  { kind: "phone", label: "phone number", written: "+44 20 7946 0958", needles: ["+44 20 7946 0958", "7946 0958"] },
];

/** A message with every kind in it, one per line. */
export function messageWithEverySecret(lead: string): string {
  return [lead, ...SECRETS.map((s) => `${s.label}: ${s.written}`)].join("\n");
}

/** The secrets (label: needle) found in `haystack`. */
export function leaks(haystack: string): string[] {
  return SECRETS.flatMap((s) => s.needles.filter((n) => haystack.includes(n)).map((n) => `${s.label}: ${n}`));
}
