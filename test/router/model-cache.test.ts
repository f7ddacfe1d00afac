import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { diskTrainingCache, trainingKey } from "../../agents/router/model-cache.ts";
import { IntentClassifier } from "../../agents/router/offline/classifier.ts";
import { createOfflineRouter, loadDefaultCorpus } from "../../agents/router/offline/index.ts";
import type { LabelledExample } from "../../agents/router/types.ts";
import { tempDataDir } from "../helpers/databases.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const corpus = loadDefaultCorpus();
// A few hundred lines: training stays quick, and the model is still a real one.
const examples: LabelledExample[] = corpus.filter((_, i) => i % 5 === 0);
const lines = corpus.filter((_, i) => i % 7 === 3).map((e) => e.text).slice(0, 60);
const modelFiles = (dir: string) => fs.readdirSync(dir).filter((f) => f.endsWith(".v8"));

describe("the trained-router cache", () => {
  const dirs: string[] = [];
  const cacheDir = () => {
    const dir = tempDataDir("switchboard-cache-test-");
    dirs.push(dir);
    return dir;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  it("gives the router training gives, and trains only when nothing is stored for these examples", () => {
    const dir = cacheDir();
    let trainings = 0;
    const counting = diskTrainingCache(dir);
    const cache: typeof counting = (ex, routes, train) => counting(ex, routes, () => (trainings++, train()));
    const opts = { examples, includeDefaultCorpus: false, includeOutOfScope: false } as const;

    const trained = createOfflineRouter({ ...opts, cache });
    expect(trainings).toBe(1);
    expect(modelFiles(dir)).toHaveLength(1);
    const read = createOfflineRouter({ ...opts, cache });
    expect(trainings).toBe(1);
    for (const text of lines) expect(read.classify(text)).toEqual(trained.classify(text));

    // One more line of the company's own: another training, stored beside the first.
    const taught = createOfflineRouter({ ...opts, companyExamples: [{ text: "the flux capacitor is humming", route: "tech_support" }], cache });
    expect(trainings).toBe(2);
    expect(modelFiles(dir)).toHaveLength(2);
    expect(taught.classify("the flux capacitor is humming").routes.map((r) => r.route)).toEqual(["tech_support"]);
  });

  it("keys on every example's text, route and weight and on the routes", () => {
    const base = trainingKey(examples, undefined);
    expect(trainingKey([...examples], undefined)).toBe(base);
    const first = examples[0]!;
    expect(trainingKey([{ ...first, text: `${first.text}!` }, ...examples.slice(1)], undefined)).not.toBe(base);
    expect(trainingKey([{ ...first, route: first.route === "faq" ? "billing" : "faq" }, ...examples.slice(1)], undefined)).not.toBe(base);
    expect(trainingKey([{ ...first, weight: 4 }, ...examples.slice(1)], undefined)).not.toBe(base);
    expect(trainingKey(examples, ["billing", "faq", "tech_support", "human"])).not.toBe(base);
  });

  it("trains again over a damaged file, and replaces it", () => {
    const dir = cacheDir();
    const cache = diskTrainingCache(dir);
    const train = () => IntentClassifier.train(examples);
    const first = cache(examples, undefined, train);
    const file = path.join(dir, modelFiles(dir)[0]!);
    fs.writeFileSync(file, fs.readFileSync(file).subarray(0, 1000));
    let trained = 0;
    const again = cache(examples, undefined, () => (trained++, train()));
    expect(trained).toBe(1);
    for (const text of lines) expect(again.scores(text)).toEqual(first.scores(text));
    // The file is whole again: the next start reads it.
    cache(examples, undefined, () => (trained++, train()));
    expect(trained).toBe(1);
  });

  it("a folder that cannot be written only means training each time", () => {
    const parent = cacheDir();
    const blocked = path.join(parent, "not-a-folder");
    fs.writeFileSync(blocked, "a file where the cache folder would be");
    let trained = 0;
    const cache = diskTrainingCache(blocked);
    const train = () => (trained++, IntentClassifier.train(examples));
    cache(examples, undefined, train);
    cache(examples, undefined, train);
    expect(trained).toBe(2);
  });

  it("two commands starting at once on an empty cache both answer, and leave one whole model", async () => {
    const dir = cacheDir();
    const route = () =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        const child = spawn(process.execPath, [path.join(ROOT, "bin/switchboard.js"), "route", "I was charged twice", "--json"], {
          cwd: ROOT,
          env: { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "", LOG_LEVEL: "warn", CACHE_DIR: dir },
        });
        let out = "";
        child.stdout.on("data", (d: Buffer) => (out += d.toString()));
        child.on("close", (code) => resolve({ code, out }));
      });
    const [a, b] = await Promise.all([route(), route()]);
    expect([a.code, b.code]).toEqual([0, 0]);
    expect(JSON.parse(a.out).routes).toEqual(JSON.parse(b.out).routes);
    expect(JSON.parse(a.out).routes[0].route).toBe("billing");
    expect(fs.readdirSync(dir).filter((f) => f.startsWith("router-"))).toHaveLength(1);
    // A third start reads what they stored, and routes the same.
    const c = await route();
    expect(JSON.parse(c.out).routes).toEqual(JSON.parse(a.out).routes);
  });
});
