import { lintSource } from "@secretlint/core";
import { creator } from "@secretlint/secretlint-rule-preset-recommend";
import { findPhoneNumbersInText } from "libphonenumber-js/max";
import "./src/inbox/redact.ts";
const options = { config: { rules: [{ id: "@secretlint/secretlint-rule-preset-recommend", rule: creator, rules: [{ id: "@secretlint/secretlint-rule-aws", options: { enableIDScanRule: true } }] }] } };
const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}/g;
const cases = { letters: "a".repeat(4000), dotted: "a.".repeat(2000), digits: "1".repeat(4000), spacedDigits: "1 ".repeat(2000), plus: "+1 ".repeat(1333) };
for (const [k, t0] of Object.entries(cases)) {
  const t = t0.slice(0, 4000);
  let s = performance.now(); await lintSource({ source: { content: t, filePath: "/m.txt", ext: ".txt", contentType: "text" }, options }); const a = performance.now() - s;
  s = performance.now(); t.replace(EMAIL, "x"); const b = performance.now() - s;
  s = performance.now(); findPhoneNumbersInText(t, { defaultCountry: "US" }); const c = performance.now() - s;
  s = performance.now(); findPhoneNumbersInText(t); const d = performance.now() - s;
  console.log(k, "secretlint", a.toFixed(1), "email", b.toFixed(1), "phoneUS", c.toFixed(1), "phone", d.toFixed(1));
}
