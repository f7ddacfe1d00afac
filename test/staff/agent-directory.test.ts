import { verify as argon2Verify } from "@node-rs/argon2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../src/db/database.ts";
import { AgentDirectory } from "../../src/staff/agent-directory.ts";
import { databaseTargets } from "../helpers/databases.ts";

describe.each(databaseTargets())("the agent directory ($name)", (target) => {
  let db: Database;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    ({ db, drop } = await target.open());
  });
  afterAll(async () => drop());

  it("stores only an argon2id hash of a long random token, and names are unique in any case", async () => {
    const dir = new AgentDirectory(db.pool);
    const { agent, token } = await dir.add("Priya Admin", "lead");
    expect(token).toMatch(/^sbk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    const row = (await db.pool.query("select token_hash from agents where id = $1", [agent.id])).rows[0] as { token_hash: string };
    expect(row.token_hash).toMatch(/^\$argon2id\$/);
    expect(row.token_hash).not.toContain(token.slice(21));
    expect(await argon2Verify(row.token_hash, token)).toBe(true);
    await expect(dir.add("priya admin")).rejects.toMatchObject({ code: "agent_exists", status: 409 });
    await expect(dir.add("  ")).rejects.toMatchObject({ code: "agent_required" });
    expect((await dir.list()).map((a) => [a.name, a.role])).toEqual([["Priya Admin", "lead"]]);
  });

  it("runs the slow hash once per token while it is remembered, again after that, and never for a removed agent", async () => {
    let clock = 1_000_000;
    let hashChecks = 0;
    const dir = new AgentDirectory(db.pool, {
      now: () => clock,
      verifiedTtlMs: 60_000,
      verifyHash: async (h, t) => {
        hashChecks += 1;
        return argon2Verify(h, t);
      },
    });
    const { token } = await new AgentDirectory(db.pool).add("Cache Test");
    for (let i = 0; i < 5; i++) expect((await dir.verify(token))?.name).toBe("Cache Test");
    expect(hashChecks).toBe(1);
    // A wrong secret with the right id is checked (and refused) every time: failures are not remembered.
    const wrong = `${token.slice(0, -1)}${token.endsWith("A") ? "B" : "A"}`;
    expect(await dir.verify(wrong)).toBeUndefined();
    expect(await dir.verify(wrong)).toBeUndefined();
    expect(hashChecks).toBe(3);
    clock += 61_000;
    expect((await dir.verify(token))?.name).toBe("Cache Test");
    expect(hashChecks).toBe(4);
    await dir.remove("cache test");
    expect(await dir.verify(token)).toBeUndefined();
    expect(hashChecks).toBe(4);
    await expect(dir.remove("cache test")).rejects.toMatchObject({ code: "unknown_agent", status: 404 });
    expect(await dir.verify("console-secret")).toBeUndefined();
  });

  it("links agents to Slack and Discord users, one agent per platform user, and unlinks", async () => {
    const dir = new AgentDirectory(db.pool);
    expect(await dir.any()).toBe(true);
    const { agent } = await dir.add("Linked Lee", "lead", { slackUser: "U0LEE", discordUser: "123456789012345678" });
    expect(agent).toMatchObject({ slackUser: "U0LEE", discordUser: "123456789012345678" });
    expect((await dir.byPlatformUser("slack", "U0LEE"))?.name).toBe("Linked Lee");
    expect((await dir.byPlatformUser("discord", "123456789012345678"))?.role).toBe("lead");
    expect(await dir.byPlatformUser("slack", "123456789012345678")).toBeUndefined();

    await dir.add("Other Olu");
    await expect(dir.link("other olu", { slackUser: "U0LEE" })).rejects.toMatchObject({ code: "platform_user_taken", status: 409, message: expect.stringContaining("Linked Lee") });
    await expect(dir.add("Third", "agent", { discordUser: "123456789012345678" })).rejects.toMatchObject({ code: "platform_user_taken" });
    await expect(dir.link("Other Olu", { slackUser: "not-an-id" })).rejects.toMatchObject({ code: "invalid_slack_user" });
    await expect(dir.link("Other Olu", { discordUser: "U0LEE" })).rejects.toMatchObject({ code: "invalid_discord_user" });
    await expect(dir.link("Nobody", { slackUser: "U0NOBODY" })).rejects.toMatchObject({ code: "unknown_agent", status: 404 });
    await expect(dir.link("Other Olu", {})).rejects.toMatchObject({ code: "nothing_to_link" });

    // Unlinking Slack leaves Discord as it is; the Slack user is then free for someone else.
    expect(await dir.link("Linked Lee", { slackUser: null })).toMatchObject({ slackUser: null, discordUser: "123456789012345678" });
    expect(await dir.byPlatformUser("slack", "U0LEE")).toBeUndefined();
    expect(await dir.link("Other Olu", { slackUser: "U0LEE" })).toMatchObject({ name: "Other Olu", slackUser: "U0LEE" });
  });
});
