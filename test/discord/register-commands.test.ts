import { afterEach, expect, test } from "vitest";
import { registerCommands } from "../../bots/discord/index.ts";
import { AdapterError } from "../../src/errors.ts";
import { startDiscordStandIn, type DiscordStandIn } from "../stand-ins/discord.ts";

let standIn: DiscordStandIn | null = null;

afterEach(async () => {
  await standIn?.close();
  standIn = null;
});

test("registerCommands PUTs /support to a guild (for `switchboard discord register --guild ID`)", async () => {
  standIn = await startDiscordStandIn();
  const result = await registerCommands({
    token: standIn.token,
    applicationId: standIn.applicationId,
    guildId: standIn.guildId,
    apiUrl: standIn.apiUrl,
    rest: { retries: 0 },
  });

  expect(result.scope).toBe("guild");
  expect(result.commands).toEqual([{ id: expect.stringMatching(/^\d+$/), name: "support" }]);
  const [put] = standIn.calls.items;
  expect(put).toMatchObject({
    method: "PUT",
    path: `/applications/${standIn.applicationId}/guilds/${standIn.guildId}/commands`,
    authorization: `Bot ${standIn.token}`,
  });
  expect(put?.body).toEqual([
    expect.objectContaining({
      name: "support",
      description: expect.any(String),
      contexts: [0, 1],
      options: [expect.objectContaining({ name: "question", type: 3, required: true })],
    }),
  ]);
});

test("registerCommands without a guild registers globally", async () => {
  standIn = await startDiscordStandIn();
  const result = await registerCommands({ token: standIn.token, applicationId: standIn.applicationId, apiUrl: standIn.apiUrl });
  expect(result.scope).toBe("global");
  expect(standIn.calls.items.map((c) => `${c.method} ${c.path}`)).toEqual([`PUT /applications/${standIn.applicationId}/commands`]);
});

test("a wrong application id fails with an error that names the variable to check", async () => {
  standIn = await startDiscordStandIn();
  const failure = await registerCommands({
    token: standIn.token,
    applicationId: "123456789012345678",
    apiUrl: standIn.apiUrl,
    rest: { retries: 0 },
  }).catch((err: unknown) => err);
  expect(failure).toBeInstanceOf(AdapterError);
  expect((failure as Error).message).toMatch(/Missing Access.*DISCORD_APPLICATION_ID/s);
});
