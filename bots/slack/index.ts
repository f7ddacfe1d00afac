/**
 * The Slack app: `/support`, mentions, DMs and threads over HTTP (`POST /slack/events` on the
 * service's fastify server) and Socket Mode, with the real Bolt app underneath.
 */
export {
  createSlackAdapter,
  isSlackConfigured,
  type SlackAdapter,
  type SlackAdapterOptions,
  type SlackConfig,
  type SlackTransport,
} from "./adapter.ts";
export { DEFAULT_BODY_LIMIT_BYTES, DEFAULT_EVENTS_PATH } from "./http-receiver.ts";
export { formatConversationKey, parseConversationKey, type SlackConversation } from "./conversation-key.ts";
export { markdownToMrkdwn } from "./mrkdwn.ts";
export { renderReply, splitMrkdwn, SLACK_LIMITS, type SlackMessage } from "./render.ts";
