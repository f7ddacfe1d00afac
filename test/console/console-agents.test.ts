import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postJson, startTestApp, type RunningApp } from "../helpers/app.ts";

const FORM = { "content-type": "application/x-www-form-urlencoded" };
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

describe("the console signs in each agent with their own token (over HTTP)", () => {
  let s: RunningApp;
  const tokens: Record<string, string> = {};

  const signIn = async (agent: string, token: string) =>
    fetch(`${s.url}/console/login`, { method: "POST", headers: FORM, body: form({ agent, token }), redirect: "manual" });
  const session = async (agent: string) => {
    const res = await signIn(agent, tokens[agent]!);
    expect(res.status).toBe(303);
    return res.headers.get("set-cookie")!.split(";")[0]!;
  };
  const pageOf = async (cookie: string, path: string) => {
    const res = await fetch(`${s.url}${path}`, { headers: { cookie }, redirect: "manual" });
    return { status: res.status, text: await res.text(), location: res.headers.get("location") };
  };
  const post = async (cookie: string, path: string, fields: Record<string, string>) => {
    const page = await pageOf(cookie, path.replace(/\/[a-z-]+$/, ""));
    const csrf = /name="csrf" value="([^"]+)"/.exec(page.text)![1]!;
    const res = await fetch(`${s.url}${path}`, { method: "POST", headers: { ...FORM, cookie }, body: form({ csrf, ...fields }), redirect: "manual" });
    return { status: res.status, text: await res.text() };
  };

  beforeAll(async () => {
    s = await startTestApp();
    for (const [name, role] of [["Dana", "agent"], ["Sam", "agent"], ["Lee", "lead"]] as const) tokens[name] = (await s.app.agents.add(name, role)).token;
  });
  afterAll(async () => s?.close());

  it("an agent's token signs in only under that agent's name, and the session acts as them", async () => {
    const wrongName = await signIn("Sam", tokens["Dana"]!);
    expect(wrongName.status).toBe(401);
    expect(wrongName.headers.get("set-cookie")).toBeNull();
    expect(await wrongName.text()).toContain("That token is not right.");

    const cookie = await session("Dana");
    const queue = await pageOf(cookie, "/console");
    expect(queue.text).toContain('<strong data-testid="agent">Dana</strong>');

    const { body } = await postJson(`${s.url}/api/messages`, { userId: "u-console-agents", text: "I want to talk to a human" });
    const id = body.handoff.id as string;
    expect((await post(cookie, `/console/handoffs/${id}/claim`, {})).status).toBe(303);
    expect((await s.app.handoffs.get(id))?.assignee).toBe("Dana");

    // Sam sees Dana's handoff without Resolve, and a hand-made Resolve is refused.
    const sam = await session("Sam");
    const seen = await pageOf(sam, `/console/handoffs/${id}`);
    expect(seen.text).toContain("Dana owns this handoff");
    expect(seen.text).not.toContain(`/console/handoffs/${id}/resolve`);
    expect(seen.text).not.toContain("Assign to");
    const refused = await post(sam, `/console/handoffs/${id}/resolve`, { note: "mine now" });
    expect(refused.status).toBe(403);
    expect(refused.text).toContain("only they or a lead can close it");
    expect((await s.app.handoffs.get(id))?.status).toBe("claimed");

    // The lead sees Assign (the team but the owner) and gives it to Sam.
    const lee = await session("Lee");
    const leePage = await pageOf(lee, `/console/handoffs/${id}`);
    expect(leePage.text).toContain("Assign to");
    expect(leePage.text).toContain('<option value="Sam">Sam</option>');
    expect(leePage.text).not.toContain('<option value="Dana">Dana</option>');
    expect((await post(lee, `/console/handoffs/${id}/assign`, { to: "Sam" })).status).toBe(303);
    expect((await s.app.handoffs.get(id))?.assignee).toBe("Sam");
    expect((await post(sam, `/console/handoffs/${id}/resolve`, { note: "sorted" })).status).toBe(303);
    expect(await s.app.handoffs.get(id)).toMatchObject({ status: "resolved", resolvedBy: "Sam" });
  });

  it("a removed agent's session ends at once", async () => {
    const { token } = await s.app.agents.add("Temp");
    const res = await signIn("Temp", token);
    const cookie = res.headers.get("set-cookie")!.split(";")[0]!;
    expect((await pageOf(cookie, "/console")).status).toBe(200);
    await s.app.agents.remove("Temp");
    const after = await pageOf(cookie, "/console");
    expect(after.status).toBe(303);
    expect(after.location).toBe("/console/login");
  });

  it("CONSOLE_TOKEN still signs in a lead named as typed", async () => {
    const res = await signIn("Morgan", "console-secret");
    expect(res.status).toBe(303);
    const cookie = res.headers.get("set-cookie")!.split(";")[0]!;
    const { body } = await postJson(`${s.url}/api/messages`, { userId: "u-console-agents-2", text: "I want to talk to a human" });
    const id = body.handoff.id as string;
    expect((await post(cookie, `/console/handoffs/${id}/claim`, {})).status).toBe(303);
    expect((await s.app.handoffs.get(id))?.assignee).toBe("Morgan");
    expect((await pageOf(cookie, `/console/handoffs/${id}`)).text).toContain("Assign to");
  });
});
