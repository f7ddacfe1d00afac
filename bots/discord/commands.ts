import {
  InteractionContextType,
  REST,
  Routes,
  SlashCommandBuilder,
  type RESTOptions,
  type RESTPutAPIApplicationCommandsResult,
} from "discord.js";
import { MAX_MESSAGE_CHARS } from "../../src/types.ts";
import { AdapterError } from "../../src/errors.ts";
import { describeDiscordError } from "./errors.ts";

export const SUPPORT_COMMAND = "support";
export const QUESTION_OPTION = "question";

/** `/support question:<text>`: usable in servers and in the bot's DMs. */
export function supportCommand() {
  return new SlashCommandBuilder()
    .setName(SUPPORT_COMMAND)
    .setDescription("Ask the support team a question")
    .setContexts(InteractionContextType.Guild, InteractionContextType.BotDM)
    .addStringOption((option) =>
      option
        .setName(QUESTION_OPTION)
        .setDescription("What do you need help with?")
        .setRequired(true)
        .setMaxLength(MAX_MESSAGE_CHARS),
    )
    .toJSON();
}

export interface RegisterCommandsOptions {
  token: string;
  applicationId: string;
  /** Register in this guild only (instant, for testing); unset: globally, for every server. */
  guildId?: string | undefined;
  /** REST base, e.g. `http://127.0.0.1:PORT/api` (no `/v10`). Default Discord's. */
  apiUrl?: string | undefined;
  /** Extra @discordjs/rest options (timeouts, retries). */
  rest?: Partial<RESTOptions> | undefined;
}

export interface RegisteredCommands {
  scope: "guild" | "global";
  commands: { id: string; name: string }[];
}

/**
 * Registers the application's commands (`/support`) with one bulk overwrite (PUT), so running it
 * again is harmless and a command removed from the code disappears from Discord too. Guild
 * commands appear at once; global ones may take a few minutes to show in every client.
 */
export async function registerCommands(options: RegisterCommandsOptions): Promise<RegisteredCommands> {
  const rest = new REST({ ...options.rest, ...(options.apiUrl ? { api: options.apiUrl } : {}) });
  rest.setToken(options.token);
  const route = options.guildId
    ? Routes.applicationGuildCommands(options.applicationId, options.guildId)
    : Routes.applicationCommands(options.applicationId);
  try {
    const result = (await rest.put(route, {
      body: [supportCommand()],
    })) as RESTPutAPIApplicationCommandsResult;
    return {
      scope: options.guildId ? "guild" : "global",
      commands: result.map((c) => ({ id: c.id, name: c.name })),
    };
  } catch (err) {
    const { error, code } = describeDiscordError(err);
    throw new AdapterError(
      "discord",
      `Could not register Discord commands (${error}${code !== undefined ? `, code ${String(code)}` : ""}). ` +
        "Check DISCORD_TOKEN and DISCORD_APPLICATION_ID" +
        (options.guildId ? ", and that the bot was invited to that server with the applications.commands scope." : "."),
      { cause: describeDiscordError(err) },
    );
  }
}
