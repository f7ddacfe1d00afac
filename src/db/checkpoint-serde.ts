import { AIMessage, ChatMessage, HumanMessage, RemoveMessage, SystemMessage, ToolMessage } from "@langchain/core/messages";
import { DeltaSnapshot, JsonPlusSerializer } from "@langchain/langgraph-checkpoint";

/**
 * LangGraph's checkpoint serializer (`JsonPlusSerializer`, what every saver uses by default),
 * reading checkpoints faster: the same JSON written, the same values read back. Its reader walks
 * the parsed JSON asynchronously, one `await` per property of every object, and hands each
 * serialized LangChain object (every message of the conversation memory) back to
 * `@langchain/core`'s `load` as a string, which parses and walks it again, asynchronously too.
 * A supervisor turn reads its thread's checkpoint once: that was ~40 µs per remembered message.
 *
 * This reader walks the JSON once, synchronously, and builds the message classes of
 * `@langchain/core/messages` itself, as `load` would (`new Class(kwargs)`, keys camel-cased the
 * way `load` maps them). Anything else `load` would be asked to build (another class, a secret,
 * an escaped value, a message with a serialized object inside) sends the whole document to
 * LangGraph's own reader, so what it cannot read exactly as LangGraph does is LangGraph's to read.
 */
export class CheckpointSerializer extends JsonPlusSerializer {
  protected override async _loads(data: string): Promise<unknown> {
    const parsed: unknown = JSON.parse(data);
    try {
      return revive(parsed);
    } catch (err) {
      if (err !== NOT_MINE) throw err;
      return super._loads(data);
    }
  }
}

/** Thrown by `revive` for a value only LangGraph's reader may read. */
const NOT_MINE = Symbol("not a value the fast reader reads");

type MessageClass = new (fields: never) => object;

/** The message classes built here, by the last part of their serialized id (`["langchain_core", "messages", "HumanMessage"]`). */
const MESSAGE_CLASSES: Record<string, MessageClass> = { HumanMessage, AIMessage, SystemMessage, ToolMessage, ChatMessage, RemoveMessage };

/** Each class's serialized key → constructor field, as `load`'s `combineAliasesAndInvert` finds them (its own and its ancestors' `lc_aliases`). */
const FIELD_OF: Record<string, Record<string, string>> = Object.fromEntries(
  Object.entries(MESSAGE_CLASSES).map(([name, cls]) => {
    const aliases: Record<string, string> = {};
    for (let c: unknown = cls; typeof c === "function" && c.prototype; c = Object.getPrototypeOf(c)) Object.assign(aliases, Reflect.get(c.prototype as object, "lc_aliases"));
    return [name, Object.fromEntries(Object.entries(aliases).map(([field, key]) => [key, field]))];
  }),
);

/** JsonPlusSerializer's `_reviver`, synchronously, for the values it reads without `load`. */
function revive(value: unknown): unknown {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map(revive);
  const record = value as Record<string, unknown>;
  if ("lc" in record) return reviveRecord(record);
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(record)) out[key] = revive(record[key]);
  return out;
}

/** An object with an `lc` key: one of JsonPlusSerializer's own records, or a serialized LangChain object. */
function reviveRecord(record: Record<string, unknown>): unknown {
  if (record["lc"] === 2 && record["type"] === "undefined") return undefined;
  if (record["lc"] === 2 && record["type"] === "delta_snapshot" && Object.hasOwn(record, "value")) return new DeltaSnapshot(revive(record["value"]));
  const id = record["id"];
  if (
    record["lc"] === 1 &&
    record["type"] === "constructor" &&
    Array.isArray(id) &&
    id.length === 3 &&
    id[0] === "langchain_core" &&
    id[1] === "messages" &&
    typeof id[2] === "string" &&
    Object.hasOwn(MESSAGE_CLASSES, id[2]) &&
    isPlainData(record["kwargs"])
  ) {
    const kwargs = record["kwargs"] as Record<string, unknown>;
    const fieldOf = FIELD_OF[id[2]]!;
    const fields: Record<string, unknown> = {};
    for (const key of Object.keys(kwargs)) fields[fieldOf[key] || camelCase(key)] = kwargs[key];
    return new MESSAGE_CLASSES[id[2]]!(fields as never);
  }
  // Sets, maps, errors and other records of the serializer, other classes: LangGraph's reader.
  throw NOT_MINE;
}

/**
 * Whether a message's fields are plain JSON with nothing `load` would revive: no serialized
 * object, secret or record (an `lc` key) and no escaped value (`__lc_escaped__`) at any depth.
 */
function isPlainData(value: unknown): boolean {
  if (value === null || typeof value !== "object") return true;
  if (Array.isArray(value)) return value.every(isPlainData);
  const record = value as Record<string, unknown>;
  if ("lc" in record || "__lc_escaped__" in record) return false;
  for (const key of Object.keys(record)) if (!isPlainData(record[key])) return false;
  return true;
}

/** `@langchain/core/load`'s key mapping of a key no alias names (`keyFromJson`'s `camelCase`). */
function camelCase(key: string): string {
  const trimmed = key.trim();
  if (!/[-_\s]/.test(trimmed)) return trimmed;
  return trimmed
    .replace(/[-_\s]+/g, "_")
    .toLowerCase()
    .replace(/_+([a-z0-9])/g, (_, char: string) => char.toUpperCase());
}
