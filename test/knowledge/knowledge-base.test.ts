import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  loadKnowledgeBase,
  MIN_RELEVANCE,
  type Collection,
  type KnowledgeBase,
} from "../../agents/knowledge/knowledge-base.ts";
import { ConfigError } from "../../src/errors.ts";

const DEMO_DIR = fileURLToPath(new URL("../../agents/knowledge/demo", import.meta.url));

function topScore(kb: KnowledgeBase, collection: Collection, query: string): number {
  return kb.search(query, { collection })[0]?.score ?? 0;
}

describe("demo knowledge base", () => {
  let kb: KnowledgeBase;
  beforeAll(async () => {
    kb = await loadKnowledgeBase(DEMO_DIR);
  });

  it("loads both collections with front matter and sections, and skips the README", () => {
    const faq = kb.docs.filter((d) => d.collection === "faq");
    const tech = kb.docs.filter((d) => d.collection === "tech");
    expect(faq.length).toBeGreaterThanOrEqual(12);
    expect(tech.length).toBeGreaterThanOrEqual(12);
    expect(kb.docs.map((d) => d.path)).not.toContain("README.md");
    for (const doc of kb.docs) {
      expect(doc.path.startsWith(`${doc.collection}/`)).toBe(true);
      expect(doc.url).toMatch(/^https:\/\/help\.acme\.example\//);
      expect(doc.tags.length).toBeGreaterThan(0);
      expect(doc.sections.length).toBeGreaterThan(1);
    }

    const refunds = kb.docs.find((d) => d.id === "faq/refund-policy");
    expect(refunds).toMatchObject({
      title: "Refund policy",
      url: "https://help.acme.example/faq/refund-policy",
      path: "faq/refund-policy.md",
    });
    expect(refunds?.tags).toContain("refund");
    expect(refunds?.sections.map((s) => s.heading)).toContain("When the money arrives");
  });

  it.each<[Collection, string, string]>([
    ["faq", "how do I get a refund", "faq/refund-policy"],
    ["tech", "app crashes when I log in", "tech/app-crashes-on-login"],
    ["faq", "do you ship to Canada", "faq/acme-dock-shipping"],
    ["tech", "wanna reset my password", "tech/password-reset"],
    ["faq", "where can I find my invoices", "faq/billing-and-invoices"],
    ["faq", "how much does pro cost", "faq/plans-and-pricing"],
    ["faq", "I want to talk to a human", "faq/support-hours"],
    ["faq", "how long does delivery take", "faq/acme-dock-shipping"],
    ["tech", "hey my iphone app keeps crashing whenever I try logging in", "tech/app-crashes-on-login"],
    ["tech", "getting 429 errors from the api", "tech/api-rate-limits-and-errors"],
    ["tech", "verification email never arrived", "tech/signup-errors"],
    ["faq", "does acme cloud work on linux", "faq/supported-platforms"],
  ])("answers on-topic question [%s] %j from %s", (collection, query, docId) => {
    const [top] = kb.search(query, { collection });
    expect(top?.doc.id).toBe(docId);
    expect(top?.score).toBeGreaterThanOrEqual(MIN_RELEVANCE);
  });

  it.each([
    "what is the capital of France",
    "tell me a joke about penguins",
    "asdfgh",
    "who won the football game last night",
    "how do I bake sourdough bread",
    "write me a poem about the sea",
    "what time is it",
  ])("scores off-topic question %j below MIN_RELEVANCE in both collections", (query) => {
    expect(topScore(kb, "faq", query)).toBeLessThan(MIN_RELEVANCE);
    expect(topScore(kb, "tech", query)).toBeLessThan(MIN_RELEVANCE);
  });

  it.each<[Collection, string, string]>([
    ["tech", "pasword reset", "tech/password-reset"],
    ["faq", "refnd", "faq/refund-policy"],
    ["faq", "can i get a refnd", "faq/refund-policy"],
    ["tech", "two-factor authentcation", "tech/two-factor-authentication"],
  ])("tolerates the typo in [%s] %j", (collection, query, docId) => {
    const [top] = kb.search(query, { collection });
    expect(top?.doc.id).toBe(docId);
    expect(top?.score).toBeGreaterThanOrEqual(MIN_RELEVANCE);
  });

  it("keeps the collections apart", () => {
    const faqHits = kb.search("reset my password", { collection: "faq", limit: 10 });
    expect(faqHits.every((h) => h.doc.collection === "faq")).toBe(true);
    expect(kb.search("reset my password", { collection: "tech" })[0]?.doc.id).toBe("tech/password-reset");

    expect(topScore(kb, "faq", "do you ship to Canada")).toBeGreaterThanOrEqual(MIN_RELEVANCE);
    expect(topScore(kb, "tech", "do you ship to Canada")).toBeLessThan(MIN_RELEVANCE);
  });

  it("returns at most `limit` hits, best first, scored within 0..1", () => {
    const hits = kb.search("refund for my annual plan invoice", { collection: "faq", limit: 3 });
    expect(hits).toHaveLength(3);
    const scores = hits.map((h) => h.score);
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
    for (const score of scores) {
      expect(score).toBeGreaterThan(0);
      expect(score).toBeLessThanOrEqual(1);
    }
    expect(kb.search("refund", { collection: "faq", limit: 0 })).toEqual([]);
  });

  it("finds nothing for a query of stop words only", () => {
    expect(kb.search("hi, can you please help me?", { collection: "faq" })).toEqual([]);
    expect(kb.search("   ", { collection: "tech" })).toEqual([]);
  });

  it("returns the section text that answers the question", () => {
    const [top] = kb.search("how long until I see my refund on my statement", { collection: "faq" });
    expect(top?.section.text).toContain("5–10 business days");
  });
});

describe("loadKnowledgeBase on your own folder", () => {
  let dir: string;
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function makeKb(files: Record<string, string>): Promise<string> {
    dir = await mkdtemp(path.join(tmpdir(), "switchboard-kb-"));
    for (const [rel, content] of Object.entries(files)) {
      await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
      await writeFile(path.join(dir, rel), content);
    }
    return dir;
  }

  it("names KNOWLEDGE_DIR when the folder is missing", async () => {
    dir = await mkdtemp(path.join(tmpdir(), "switchboard-kb-"));
    const missing = path.join(dir, "nope");
    const error = await loadKnowledgeBase(missing).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toContain("KNOWLEDGE_DIR");
    expect((error as ConfigError).message).toContain(missing);
  });

  it("names KNOWLEDGE_DIR when the path is a file", async () => {
    const root = await makeKb({ "kb.md": "# not a folder\n" });
    await expect(loadKnowledgeBase(path.join(root, "kb.md"))).rejects.toThrow(/KNOWLEDGE_DIR/);
  });

  it("treats a missing collection folder as empty", async () => {
    const root = await makeKb({
      "faq/refunds.md": "---\ntitle: Refunds\ntags: [refund]\n---\n\n## Policy\n\nFull refund within 30 days.\n",
    });
    const kb = await loadKnowledgeBase(root);
    expect(kb.docs.map((d) => d.id)).toEqual(["faq/refunds"]);
    expect(kb.search("refund", { collection: "tech" })).toEqual([]);
    expect(kb.search("refund", { collection: "faq" })[0]?.section).toEqual({
      heading: "Policy",
      text: "Full refund within 30 days.",
    });
  });

  it("reads sub-folders, makes front matter optional and ignores files outside the collections", async () => {
    const root = await makeKb({
      "README.md": "## Shipping\n\nWe ship everywhere.\n",
      "notes.txt": "ignored",
      "tech/sso/okta.md": "# Okta setup\n\nIntro text.\n\n## Steps\n\nCreate a SAML app.\n",
      "tech/plain-file.md": "Just a paragraph about VPN configuration.\n",
      "tech/fences.md":
        "---\ntitle: Fences\n---\n## Example\n\n```md\n## not a heading\n```\n\n## Real\n\nText.\n",
    });
    const kb = await loadKnowledgeBase(root);
    expect(kb.docs.map((d) => d.path)).toEqual([
      "tech/fences.md",
      "tech/plain-file.md",
      "tech/sso/okta.md",
    ]);
    const [fences, plain, okta] = kb.docs;
    expect(fences?.sections.map((s) => s.heading)).toEqual(["Example", "Real"]);
    expect(plain).toMatchObject({ title: "plain file", tags: [] });
    expect(plain?.url).toBeUndefined();
    expect(okta?.title).toBe("Okta setup");
    expect(okta?.sections).toEqual([
      { heading: "Okta setup", text: "Intro text." },
      { heading: "Steps", text: "Create a SAML app." },
    ]);
    expect(kb.search("shipping", { collection: "faq" })).toEqual([]);
  });

  it.each([
    ["an unclosed block", "---\ntitle: Broken\n\n## Section\n\nText.\n"],
    ["a line that is not key: value", "---\ntitle: Broken\njust some words\n---\n\nText.\n"],
    ["a tags list without its bracket", "---\ntitle: Broken\ntags: [a, b\n---\n\nText.\n"],
  ])("names the file whose front matter has %s", async (_case, content) => {
    const root = await makeKb({ "faq/good.md": "## Fine\n\nText.\n", "faq/broken-file.md": content });
    const error = await loadKnowledgeBase(root).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toContain(path.join("faq", "broken-file.md"));
    expect((error as ConfigError).message).toMatch(/front matter/i);
  });
});

describe("the parsed knowledge base kept in CACHE_DIR", () => {
  let dirs: string[] = [];
  afterEach(async () => {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
    dirs = [];
  });
  const temp = async () => {
    const d = await mkdtemp(path.join(tmpdir(), "switchboard-kb-cache-"));
    dirs.push(d);
    return d;
  };

  it("reads back what it parsed while the files stay the same, and parses an edited article anew", async () => {
    const kbDir = await temp();
    const cacheDir = await temp();
    await mkdir(path.join(kbDir, "faq"));
    const article = (price: string) => `---\ntitle: Plans\n---\n\n## Prices\n\nThe team plan costs\n${price} a month.\n`;
    await writeFile(path.join(kbDir, "faq", "plans.md"), article("$10"));

    const first = await loadKnowledgeBase(kbDir, { cacheDir });
    const cached = (await import("node:fs")).readdirSync(cacheDir).filter((f) => f.startsWith("knowledge-"));
    expect(cached).toHaveLength(1);
    const again = await loadKnowledgeBase(kbDir, { cacheDir });
    expect(again.docs).toEqual(first.docs);
    expect(again.docs[0]?.sections[0]?.text).toBe("The team plan costs $10 a month.");
    expect(again.search("team plan price")[0]?.doc.id).toBe("faq/plans");

    await writeFile(path.join(kbDir, "faq", "plans.md"), article("$12"));
    const edited = await loadKnowledgeBase(kbDir, { cacheDir });
    expect(edited.docs[0]?.sections[0]?.text).toBe("The team plan costs $12 a month.");
  });

  it("parses when the cache file is unreadable, and gives what parsing without a cache gives", async () => {
    const cacheDir = await temp();
    const plain = await loadKnowledgeBase(DEMO_DIR);
    await loadKnowledgeBase(DEMO_DIR, { cacheDir });
    const fs = await import("node:fs");
    for (const f of fs.readdirSync(cacheDir)) fs.writeFileSync(path.join(cacheDir, f), "{not json");
    const afterDamage = await loadKnowledgeBase(DEMO_DIR, { cacheDir });
    expect(afterDamage.docs).toEqual(plain.docs);
    expect((await loadKnowledgeBase(DEMO_DIR, { cacheDir })).docs).toEqual(plain.docs);
  });
});
