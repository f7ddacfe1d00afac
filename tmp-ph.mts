import { findPhoneNumbersInText } from "libphonenumber-js/max";
const cases = { spacedDigits: "1 ".repeat(2000), plus: "+1 ".repeat(1333), dotted: "a.".repeat(2000), digits: "1".repeat(4000), mixed: "call +44 20 7946 0958 " + "1 2 3 ".repeat(600) + " or +1 415 555 2671" };
for (const mt of [undefined, 200, 50]) for (const [k, t0] of Object.entries(cases)) {
  const t = t0.slice(0, 4000);
  const s = performance.now(); const f = findPhoneNumbersInText(t, mt ? { defaultCountry: "US", maxTries: mt } as any : { defaultCountry: "US" }); console.log(mt, k, (performance.now() - s).toFixed(1), f.length);
}
