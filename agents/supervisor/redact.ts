/**
 * Masks secrets a user pastes by mistake before the text reaches a model or a worker: card
 * numbers (13–19 digits passing the Luhn check) and API-key-looking tokens. The stored message
 * keeps the original for the support team; only what leaves for processing is masked.
 */
export function redact(text: string): string {
  return text
    .replace(/\b(?:\d[ -]?){12,18}\d\b/g, (m) => (luhn(m.replace(/\D/g, "")) ? "[card number removed]" : m))
    .replace(/\b(sk|pk|xox[abpr]|ghp|AKIA)[-_A-Za-z0-9]{16,}\b/g, "[secret removed]");
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
