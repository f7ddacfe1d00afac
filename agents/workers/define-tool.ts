import { tool } from "@langchain/core/tools";
import type { RunnableConfig } from "@langchain/core/runnables";
import type { z } from "zod";
import type { ToolRunConfig } from "./types.ts";

/**
 * A LangChain tool whose calls are logged to the worker run. `fn` gets the parsed arguments and
 * the run config (the caller comes from there, never from the arguments).
 */
export function defineTool<S extends z.ZodObject>(
  spec: { name: string; description: string; schema: S },
  fn: (args: z.infer<S>, config: RunnableConfig) => Promise<string>,
) {
  return tool(
    async (args: z.infer<S>, config: RunnableConfig) => {
      const result = await fn(args, config);
      const log = (config.configurable as Partial<ToolRunConfig> | undefined)?.toolLog;
      log?.push({ name: spec.name, args: args as Record<string, unknown>, result: result.slice(0, 500) });
      return result;
    },
    { name: spec.name, description: spec.description, schema: spec.schema },
  );
}
