import { tool } from "@langchain/core/tools";
import type { RunnableConfig } from "@langchain/core/runnables";
import type { z } from "zod";
import type { ToolOutcome, ToolSignal } from "./tool-signals.ts";
import type { ToolRunConfig } from "./types.ts";

/**
 * A LangChain tool whose calls are logged to the worker run. `fn` gets the parsed arguments and
 * the run config (the caller comes from there, never from the arguments) and returns its text, or
 * `{ text, signal }` when the worker graph must act on the outcome.
 *
 * The tool uses the `content_and_artifact` response format: called with a tool call (as the
 * `ToolNode` and the offline `ToolKit` do), it answers a `ToolMessage` whose `content` is the text
 * and whose `artifact` is the signal (undefined without one). The log entry records both.
 */
export function defineTool<S extends z.ZodObject>(
  spec: { name: string; description: string; schema: S },
  fn: (args: z.infer<S>, config: RunnableConfig) => Promise<string | ToolOutcome>,
) {
  return tool(
    async (args: z.infer<S>, config: RunnableConfig): Promise<[string, ToolSignal | undefined]> => {
      // The worker's run was cancelled (its time budget ran out, the turn was given up): no tool
      // starts any more, so a run that timed out cannot act after the user was told otherwise.
      throwIfCancelled(spec.name, config);
      const out = await fn(args, config);
      const { text, signal } = typeof out === "string" ? { text: out, signal: undefined } : out;
      const log = (config.configurable as Partial<ToolRunConfig> | undefined)?.toolLog;
      log?.push({ name: spec.name, args: args as Record<string, unknown>, result: text.slice(0, 500), ...(signal ? { signal } : {}) });
      return [text, signal];
    },
    { name: spec.name, description: spec.description, schema: spec.schema, responseFormat: "content_and_artifact" },
  );
}

/** A tool was called after its worker's run was cancelled; it did nothing. */
export class ToolCancelledError extends Error {
  constructor(tool: string, reason: unknown) {
    super(`${tool} did not run: the worker's run was cancelled (${reason instanceof Error ? reason.message : String(reason ?? "aborted")})`);
    this.name = "ToolCancelledError";
  }
}

/** Throws when the run the tool belongs to was cancelled; tools with side effects call it again right before they write. */
export function throwIfCancelled(tool: string, config: RunnableConfig): void {
  const cancelled = (config.configurable as Partial<ToolRunConfig> | undefined)?.cancelled;
  for (const signal of [cancelled, config.signal]) {
    if (signal?.aborted) throw new ToolCancelledError(tool, signal.reason);
  }
}
