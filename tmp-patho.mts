import { createRedactor } from "./src/inbox/redact.ts";
const r = createRedactor({ emails: true, phones: true, phoneRegion: "US" });
const cases = { letters: "a".repeat(4000), dotted: "a.".repeat(2000), digits: "1".repeat(4000), spacedDigits: "1 ".repeat(2000), dashed: "1-".repeat(2000), ibanish: "DE89 ".repeat(800), mixed: "a1 ".repeat(1333), plus: "+1 ".repeat(1333), slash: "a/".repeat(2000), at: "a@".repeat(2000), pw: "pwd: x ".repeat(600), keyish: "token=".repeat(700) };
for (let round = 0; round < 3; round++) { const line: string[] = []; for (const [k, t] of Object.entries(cases)) { const s = performance.now(); await r.redact(t.slice(0, 4000)); line.push(`${k} ${(performance.now() - s).toFixed(1)}`); } console.log(line.join(" | ")); }
