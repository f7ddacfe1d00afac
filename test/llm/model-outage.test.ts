import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHttpServer } from "../../bots/http/server.ts";
import { createApp, type App } from "../../src/app.ts";
import { loadConfig } from "../../src/config.ts";
import { silentLogger } from "../../src/logger.ts";
import { FakeNotifier } from "../handoffs/fake-notifier.ts";
import { tempDataDir } from "../helpers/databases.ts";
import { failure, startOpenAIStandIn, structured, text, type OpenAIStandIn } from "../stand-ins/openai.ts";

describe("a model outage is visible: health, metrics, one staff notice down and one back up", () => {
  let standIn: OpenAIStandIn;
  let app: App;
  let url: string;
  let close: () => Promise<void>;
  const staff = new FakeNotifier();
  let failing = true;

  beforeAll(async () => {
    standIn = await startOpenAIStandIn((req) => {
      if (failing) return failure(500, "model overloaded");
      // Routing asks for structured output; workers and merge for text.
      return req.response_format?.type === "json_schema" ? structured({ routes: [{ route: "faq", confidence: 0.9, question: "What plans do you offer?" }] }) : text("We offer Starter and Business plans.");
    });
    const config = loadConfig({ OPENAI_BASE_URL: standIn.baseUrl, OPENAI_API_KEY: "test", ROUTER_MODE: "llm", DATA_DIR: tempDataDir(), LOG_LEVEL: "silent" });
    app = await createApp(config, silentLogger());
    app.handoffService.addNotifier(staff);
    const http = await createHttpServer(app);
    url = await http.listen({ port: 0, host: "127.0.0.1" });
    close = async () => {
      await http.close();
      await app.close();
      await standIn.close();
    };
  }, 60_000);
  afterAll(async () => close?.());

  const ask = async (said: string) => {
    const s = await app.intake.submit({ platform: "http", conversationKey: `http:${randomUUID()}`, userId: "u1", text: said, platformMessageId: randomUUID() });
    if (s.status !== "accepted") throw new Error("not accepted");
    return s.done;
  };
  const health = async () => (await (await fetch(`${url}/healthz`)).json()) as { ok: boolean; model: string };
  const metric = async (line: RegExp) => Number((await (await fetch(`${url}/metrics`)).text()).split("\n").find((l) => line.test(l))?.split(" ").at(-1) ?? NaN);
  const notices = () => staff.calls.filter((c) => c.kind === "notice").map((c) => (c.kind === "notice" ? c.text : ""));

  it("answers offline while the model fails, says degraded, tells staff once", async () => {
    expect((await health()).model).toBe("ok");
    for (const said of ["What plans do you offer?", "How do I export my data?"]) {
      const outcome = await ask(said);
      expect(outcome.kind).toBe("reply");
    }
    await app.modelHealth.settled();
    await app.handoffService.idle();
    expect(await health()).toMatchObject({ ok: true, model: "degraded" });
    expect(notices()).toEqual([expect.stringMatching(/The model is failing \(.*model overloaded.*\)\. The bot goes on answering with the offline engine/)]);
    expect(await metric(/^switchboard_model_calls_total\{result="failed"\}/)).toBeGreaterThanOrEqual(2);
    expect(await metric(/^switchboard_model_fallbacks_total\{stage="routing"\}/)).toBe(2);
    expect(await metric(/^switchboard_model_fallbacks_total\{stage="worker"\}/)).toBeGreaterThanOrEqual(2);
  });

  it("says ok and tells staff once when the model works again", async () => {
    failing = false;
    await ask("What plans do you offer?");
    await ask("What plans do you offer?");
    await app.modelHealth.settled();
    await app.handoffService.idle();
    expect((await health()).model).toBe("ok");
    expect(notices()).toHaveLength(2);
    expect(notices()[1]).toMatch(/The model works again/);
  });
});
