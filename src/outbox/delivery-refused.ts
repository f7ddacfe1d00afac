import { AdapterError } from "../errors.ts";

/**
 * The platform will never take this message (the channel is gone, the bot was removed, the
 * message is malformed): the outbox gives it up at once instead of retrying.
 */
export class DeliveryRefused extends AdapterError {}
