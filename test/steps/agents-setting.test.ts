import { describe, expect, it } from "vitest";
import { WorkerRegistry } from "../../agents/workers/registry.ts";
import { createApp } from "../../src/app.ts";
import { loadConfig } from "../../src/config.ts";
import { ConfigError } from "../../src/errors.ts";
import { silentLogger } from "../../src/logger.ts";
import { startStepService } from "../../src/steps/start-step-service.ts";
import { localWorkers } from "../../src/steps/worker-services.ts";
import { tempDataDir } from "../helpers/databases.ts";

describe("AGENTS / --agents and BILLING_DATABASE_URL", () => {
  it("AGENTS is a list of worker names; anything else fails at start naming the variable", () => {
    expect(loadConfig({ AGENTS: "billing, faq,billing" }).agents).toEqual(["billing", "faq"]);
    expect(loadConfig({}).agents).toBeUndefined();
    expect(() => loadConfig({ AGENTS: "billing;drop table" })).toThrow(/AGENTS: must be worker names separated by commas/);
    expect(() => loadConfig({ BILLING_DATABASE_URL: "mysql://x" })).toThrow(/BILLING_DATABASE_URL: must start with postgres:\/\//);
  });

  it("a name the registry does not have is refused, with the names it has", () => {
    const registry = new WorkerRegistry();
    expect(localWorkers(["faq", "billing"], registry)?.map((w) => w.name)).toEqual(["billing", "faq"]);
    expect(localWorkers(undefined, registry)).toBeUndefined();
    expect(() => localWorkers(["biling"], registry)).toThrow('AGENTS (or --agents): no worker named "biling"; the workers are billing, tech_support, faq');
  });

  it("delegating on the embedded database is refused before anything is opened, saying what it needs", async () => {
    const config = loadConfig({ DATA_DIR: tempDataDir(), AGENTS: "faq", LOG_LEVEL: "silent" });
    const err = await createApp(config, silentLogger()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect(String((err as Error).message)).toMatch(/AGENTS=faq.*needs a Postgres server: set DATABASE_URL/);
    // A worker service takes its steps from the shared queue: the same plain refusal.
    const service = await startStepService(loadConfig({ DATA_DIR: tempDataDir() }), silentLogger(), ["billing"]).catch((e: unknown) => e);
    expect(String((service as Error).message)).toMatch(/switchboard worker --agents billing .* needs a Postgres server \(DATABASE_URL\)/);
  });
});
