import { MAX_MESSAGE_CHARS } from "../../src/types.ts";

/** What the Slack app says to people, in one place. */

export const USAGE_TEXT =
  "Ask a question after the command, for example `/support How do I change my billing email?` " +
  "I'll post it in this channel and answer in a thread; reply in that thread to follow up. " +
  "You can also mention me in a channel or send me a direct message.";
export const LOOKING_TEXT = "Looking into it… I'll answer in a thread in this channel.";
/** The question could not be posted: the answer follows privately, through the command's `response_url`. */
export const CANNOT_POST_TEXT =
  "I can't post in this channel, so I'll answer you here, where only you can see it. " +
  "To get answers in a thread, invite me with `/invite @Switchboard`, or send me a direct message.";
export const FAILED_TEXT = "Sorry, I couldn't take your question just now. Please try again in a minute.";
export const TOO_LONG_TEXT =
  `That's longer than I can read at once (${MAX_MESSAGE_CHARS} characters). Could you shorten it?`;
export const MENTION_HINT_TEXT =
  "Hi! Ask me your question here (mention me with it) and I'll answer in this thread.";
