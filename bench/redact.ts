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

await measure("corpus lines", corpus);
await measure("corpus lines + one secret", withSecret);
await measure("4,000 characters", long);

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
