export { createDiscordAdapter, threadName } from "./adapter.ts";
export type { DiscordAdapter, DiscordAdapterOptions, MentionMode } from "./adapter.ts";
export { registerCommands, supportCommand, SUPPORT_COMMAND, QUESTION_OPTION } from "./commands.ts";
export type { RegisterCommandsOptions, RegisteredCommands } from "./commands.ts";
export { formatConversationKey, parseConversationKey } from "./conversation-key.ts";
export type { DiscordConversation } from "./conversation-key.ts";
export type { DiscordReplyContext } from "./reply-context.ts";
export { renderReply } from "./render.ts";
export { splitMessage, DISCORD_MESSAGE_LIMIT } from "./split-message.ts";
