import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postJson, startTestApp, type RunningApp } from "../helpers/app.ts";

const CONSOLE = { authorization: "Bearer console-secret" };

/** The value of one sample line, e.g. `switchboard_handoffs_open{state="open"}`; undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("/metrics", () => {
  let s: RunningApp;
  const scrape = async () => (await fetch(`${s.url}/metrics`)).text();

  beforeAll(async () => {
    s = await startTestApp();
  });
  afterAll(async () => s?.close());

  it("keeps Node's default metrics under their standard names, and no gauge of ours ends in _total", async () => {
    const text = await scrape();
    expect(text).toMatch(/^# TYPE process_cpu_seconds_total counter$/m);
    expect(text).toMatch(/^# TYPE nodejs_heap_size_used_bytes gauge$/m);
    expect(text).not.toMatch(/^switchboard_process_|^switchboard_nodejs_/m);
    const gauges = [...text.matchAll(/^# TYPE (switchboard_\S+) gauge$/gm)].map((m) => m[1]!);
    expect(gauges).toEqual(expect.arrayContaining(["switchboard_queue_depth", "switchboard_outbox_undelivered", "switchboard_handoffs_open", "switchboard_handoff_oldest_waiting_seconds"]));
    expect(gauges.filter((g) => g.endsWith("_total"))).toEqual([]);
    expect(text).toMatch(/^# TYPE switchboard_model_fallbacks_total counter$/m);
  });

  it("shows unresolved handoffs by state and how long the oldest unclaimed one has waited", async () => {
    const before = await scrape();
    expect(sample(before, 'switchboard_handoffs_open{state="open"}')).toBe(0);
    expect(sample(before, "switchboard_handoff_oldest_waiting_seconds")).toBe(0);

    const asked = await postJson(`${s.url}/api/messages`, { userId: "u-metrics", text: "I want to talk to a human" });
    expect(asked.body.handoff).toMatchObject({ reason: "user_request" });
    // The database's clock moves on between the handoff's insert and the scrape.
    await new Promise((r) => setTimeout(r, 20));
    const waiting = await scrape();
    expect(sample(waiting, 'switchboard_handoffs_open{state="open"}')).toBe(1);
    expect(sample(waiting, 'switchboard_handoffs_open{state="claimed"}')).toBe(0);
    expect(sample(waiting, "switchboard_handoff_oldest_waiting_seconds")).toBeGreaterThan(0);

    const claimed = await postJson(`${s.url}/api/handoffs/${asked.body.handoff.id}/claim`, { agent: "Dana" }, CONSOLE);
    expect(claimed.status).toBe(200);
    const taken = await scrape();
    expect(sample(taken, 'switchboard_handoffs_open{state="open"}')).toBe(0);
    expect(sample(taken, 'switchboard_handoffs_open{state="claimed"}')).toBe(1);
    expect(sample(taken, "switchboard_handoff_oldest_waiting_seconds")).toBe(0);
  });

  it("the shipped Grafana dashboard and Prometheus alert rules use only metrics the service exports", async () => {
    const text = await scrape();
    const exported = new Set(
      [...text.matchAll(/^# TYPE (\S+) (\w+)$/gm)].flatMap(([, name, type]) => (type === "histogram" ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name!])),
    );
    const root = path.resolve(import.meta.dirname, "../..");
    const dashboard = fs.readFileSync(path.join(root, "ops/grafana/switchboard-dashboard.json"), "utf8");
    const rules = fs.readFileSync(path.join(root, "ops/prometheus/switchboard-alerts.yml"), "utf8");
    const panels = (JSON.parse(dashboard) as { panels: Array<{ targets: Array<{ expr: string }> }> }).panels;
    expect(panels.length).toBeGreaterThan(10);
    const used = new Set([...`${dashboard}\n${rules}`.matchAll(/\b((?:switchboard|process|nodejs)_[a-z0-9_]+)/g)].map((m) => m[1]!));
    expect(used.size).toBeGreaterThan(15);
    expect([...used].filter((name) => !exported.has(name))).toEqual([]);
    for (const alert of ["SwitchboardQueueBacklog", "SwitchboardHandoffOverSLA", "SwitchboardModelDegraded", "SwitchboardOutboxStuck"]) expect(rules).toContain(`alert: ${alert}`);
  });
});
