import { AIMessage, type BaseMessage } from "@langchain/core/messages";

/** The bot's memory of a conversation, as far as handoffs need it: a note it will read next time. */
export interface BotMemory {
  addNote(conversationId: string, note: string): Promise<void>;
  /** The remembered messages (oldest first), as role + text; for the console and tests. */
  messages(conversationId: string): Promise<Array<{ role: string; name: string | undefined; text: string }>>;
}

/** The slice of a compiled LangGraph graph this needs (the supervisor, compiled with its checkpointer). */
export interface CheckpointedGraph {
  updateState(config: { configurable: { thread_id: string } }, values: { messages: BaseMessage[] }, asNode?: string): Promise<unknown>;
  getState(config: { configurable: { thread_id: string } }): Promise<{ values: unknown }>;
}

/** The name the note carries in the graph's messages. */
export const SUPPORT_NOTE_NAME = "support_team_note";

/**
 * Memory in the supervisor graph's checkpoint (thread id = conversation id). The note is an
 * assistant message written as if by `asNode` (the graph's last node), so the next turn starts
 * fresh from START with the note in its history, where workers and merging read it.
 */
export class GraphMemory implements BotMemory {
  constructor(
    private readonly graph: CheckpointedGraph,
    private readonly asNode = "merge",
  ) {}

  async addNote(conversationId: string, note: string): Promise<void> {
    await this.graph.updateState(
      { configurable: { thread_id: conversationId } },
      { messages: [new AIMessage({ content: note, name: SUPPORT_NOTE_NAME })] },
      this.asNode,
    );
  }

  async messages(conversationId: string): Promise<Array<{ role: string; name: string | undefined; text: string }>> {
    const state = await this.graph.getState({ configurable: { thread_id: conversationId } });
    const messages = ((state.values as { messages?: BaseMessage[] } | undefined)?.messages ?? []) as BaseMessage[];
    return messages.map((m) => ({
      role: m.getType(),
      name: m.name,
      text: typeof m.content === "string" ? m.content : JSON.stringify(m.content),
    }));
  }
}
