import { AsyncLocalStorageProviderSingleton } from "@langchain/core/singletons";
import { getEnvironmentVariable } from "@langchain/core/utils/env";

/**
 * LangChain keeps the config of the running runnable in its async-local storage so that code
 * inside it (LangGraph's `getConfig()`, `interrupt()`, a nested graph) finds it. @langchain/core
 * 1.4 stores it inside a new LangSmith `RunTree` on every call of `runWithConfig`, tracing or
 * not (a `RunTree` is ~30 properties, a UUIDv7 from `crypto.getRandomValues`, a timestamp
 * string and several environment reads: ~20 µs), and first configures a callback manager only
 * to look for LangSmith's tracer in it. A supervisor turn makes ~60 such calls (every node, edge,
 * channel write and stream step), so with tracing off they were 5-8 % of a worker's CPU.
 *
 * `untracedRunContext()` replaces that one method of LangChain's singleton, unless LangChain's
 * tracing is on (one of its tracing variables is "true", the rule of its `isTracingEnabled`; then
 * it returns false and changes nothing). When no LangSmith tracer was handed in as a callback
 * either, LangChain would not trace the run, and the config is stored in a plain object of the
 * same shape (`extra[lc:child_config]`, context variables carried over), which is all the readers
 * look at; otherwise the original runs, so tracing behaves as before. Installed once per process
 * (by `compileSupervisor`), and only over a `runWithConfig` that builds a `RunTree` as 1.4's does:
 * after an upgrade that changes it, it returns false and keeps LangChain's own
 * (test/supervisor/untraced-context.test.ts fails then, to have it looked at again).
 *
 * Known difference: `setContextVariable` called inside a runnable (nothing here does) clones the
 * store only when it is a `RunTree`, so there it would lose the config for the rest of that run.
 */
export function untracedRunContext(): boolean {
  const provider = AsyncLocalStorageProviderSingleton as unknown as Provider;
  if (provider[INSTALLED]) return true;
  // Decided once, as the service reads its settings once: an environment read costs more than
  // the rest of the replacement, and LangChain's own tracing is on or off for the process.
  if (TRACING_VARIABLES.some((name) => getEnvironmentVariable(name) === "true")) return false;
  const original = provider.runWithConfig;
  if (typeof original !== "function" || original.length !== 3 || !String(original).includes("new RunTree")) return false;
  provider.runWithConfig = function runWithConfig(config, callback, avoidCreatingRootRunTree) {
    // With `avoidCreatingRootRunTree` the original stores no config at all; with a tracer it
    // links the run to its trace: both stay LangChain's own.
    if (avoidCreatingRootRunTree || handsInTracer(config)) return original.call(this, config, callback, avoidCreatingRootRunTree);
    const storage = this.getInstance();
    const previous = storage.getStore() as Record<symbol, unknown> | undefined;
    const store: Record<symbol, unknown> & { extra: Record<symbol, unknown> } = { extra: { [LC_CHILD_KEY]: config } };
    if (previous !== undefined && previous[CONTEXT_VARIABLES_KEY] !== undefined) store[CONTEXT_VARIABLES_KEY] = previous[CONTEXT_VARIABLES_KEY];
    return storage.run(store, callback);
  };
  provider[INSTALLED] = true;
  return true;
}

/**
 * Whether {@link untracedRunContext} is installed in this process: LangChain's tracing is off, so
 * code that no one observes (the offline engine's tool calls) may skip LangChain's callback
 * managers, whose only listener would be a tracer.
 */
export function isUntraced(): boolean {
  return (AsyncLocalStorageProviderSingleton as unknown as Provider)[INSTALLED] === true;
}

/** Whether a LangSmith tracer was handed in with the config's callbacks (then LangChain traces the run). */
function handsInTracer(config: { callbacks?: unknown } | undefined): boolean {
  const callbacks = config?.callbacks as { handlers?: unknown[] } | unknown[] | undefined;
  const handlers = Array.isArray(callbacks) ? callbacks : callbacks?.handlers;
  return handlers?.some((h) => (h as { name?: string } | null)?.name === "langchain_tracer") ?? false;
}

/** @langchain/core's `isTracingEnabled` (utils/callbacks, not exported): any of these set to "true". */
const TRACING_VARIABLES = ["LANGSMITH_TRACING_V2", "LANGCHAIN_TRACING_V2", "LANGSMITH_TRACING", "LANGCHAIN_TRACING"];
/** The keys @langchain/core's async-local storage uses (global symbols, shared by every copy of it). */
const LC_CHILD_KEY = Symbol.for("lc:child_config");
const CONTEXT_VARIABLES_KEY = Symbol.for("lc:context_variables");
const INSTALLED = Symbol.for("switchboard:untraced-run-context");

interface Storage {
  getStore(): unknown;
  run<T>(store: unknown, callback: () => T): T;
}

interface Provider {
  [INSTALLED]?: boolean;
  getInstance(): Storage;
  runWithConfig(this: Provider, config: { callbacks?: unknown } | undefined, callback: () => unknown, avoidCreatingRootRunTree?: boolean): unknown;
}
