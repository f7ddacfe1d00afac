/**
 * What redaction at intake costs, and what it changes in ordinary support text.
 *
 *   npx tsx bench/redact.ts [--rounds 3] [--region US]
 *
 * Messages: every line of the router's training corpus (real users' words, no secrets: every
 * change there is a false positive, listed), the same with one secret of each kind appended, and
 * 4,000-character messages (the longest accepted). CPU is process CPU time per message
 * (`process.cpuUsage`, GC included); latency is the wall time of one `redact()` call.
 */
import { parseArgs } from "node:util";
import type { CountryCode } from "libphonenumber-js/max";
import { loadDefaultCorpus } from "../agents/router/offline/index.ts";
import { createRedactor, type RedactedKind } from "../src/inbox/redact.ts";
import { MAX_MESSAGE_CHARS } from "../src/types.ts";
import { SECRETS } from "../test/inbox/secrets.ts";

const { values } = parseArgs({ options: { rounds: { type: "string", default: "3" }, region: { type: "string" } } });
const redactor = createRedactor({ emails: true, phones: true, phoneRegion: values.region as CountryCode | undefined });

const corpus = loadDefaultCorpus().map((e) => e.text);
const withSecret = corpus.map((t, i) => `${t} ${SECRETS[i % SECRETS.length]!.written}`);
const long = Array.from({ length: 50 }, (_, i) => {
  let text = "";
  for (let j = 0; text.length < MAX_MESSAGE_CHARS; j++) text += `${corpus[(i * 31 + j * 97) % corpus.length]}. `;
  return text.slice(0, MAX_MESSAGE_CHARS);
});

for (const m of corpus.slice(0, 1000)) await redactor.redact(m);

async function measure(name: string, messages: string[]): Promise<void> {
  const latencies: number[] = [];
  const cpu = process.cpuUsage();
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const m of messages) {
      const started = performance.now();
      await redactor.redact(m);
      latencies.push(performance.now() - started);
    }
  }
  const used = process.cpuUsage(cpu);
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
  const cpuUs = (used.user + used.system) / latencies.length;
  console.log(`${name}: ${messages.length} messages × ${values.rounds}: CPU ${cpuUs.toFixed(0)} µs/message; wall p50 ${(at(0.5) * 1000).toFixed(0)} µs, p99 ${(at(0.99) * 1000).toFixed(0)} µs`);
}

/** Inputs built to be slow (anyone can send 4,000 characters): each should cost about as much as ordinary text. */
const degenerate = Object.entries({
  "one long word": "a".repeat(MAX_MESSAGE_CHARS),
  "a.a.a.…": "a.".repeat(MAX_MESSAGE_CHARS / 2),
  "4,000 digits": "1".repeat(MAX_MESSAGE_CHARS),
  "1 1 1 …": "1 ".repeat(MAX_MESSAGE_CHARS / 2),
  "1-1-1-…": "1-".repeat(MAX_MESSAGE_CHARS / 2),
  "+1 +1 …": "+1 ".repeat(MAX_MESSAGE_CHARS / 3),
  "DE89 DE89 …": "DE89 ".repeat(MAX_MESSAGE_CHARS / 5),
  "a@a@a@…": "a@".repeat(MAX_MESSAGE_CHARS / 2),
  "token=token=…": "token=".repeat(MAX_MESSAGE_CHARS / 6),
  "pwd: x pwd: x …": "pwd: x ".repeat(MAX_MESSAGE_CHARS / 7),
  "https://a:a:a…": `https://${"a:".repeat(MAX_MESSAGE_CHARS / 2)}`,
}).map(([name, text]) => [name, text.slice(0, MAX_MESSAGE_CHARS)] as const);

await measure("corpus lines", corpus);
await measure("corpus lines + one secret", withSecret);
await measure("4,000 characters", long);

for (const [, text] of degenerate) await redactor.redact(text);
const worst: string[] = [];
for (const [name, text] of degenerate) {
  const cpu = process.cpuUsage();
  for (let i = 0; i < 5; i++) await redactor.redact(text);
  const used = process.cpuUsage(cpu);
  worst.push(`${name} ${((used.user + used.system) / 5 / 1000).toFixed(1)} ms`);
}
console.log(`degenerate 4,000-character messages, CPU per message: ${worst.join(", ")}`);

const changed = new Map<RedactedKind, string[]>();
for (const line of corpus) {
  const out = await redactor.redact(line);
  for (const kind of out.removed) changed.set(kind, [...(changed.get(kind) ?? []), `${line}  →  ${out.text}`]);
}
const total = [...changed.values()].reduce((n, l) => n + l.length, 0);
console.log(`corpus lines changed (false positives): ${total} of ${corpus.length}`);
for (const [kind, lines] of changed) {
  console.log(`  ${kind}: ${lines.length}`);
  for (const l of lines.slice(0, 5)) console.log(`    ${l}`);
}
