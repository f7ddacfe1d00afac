import { AsyncLocalStorage } from "node:async_hooks";
import type { RunnableConfig } from "@langchain/core/runnables";
import type { ChannelVersions, Checkpoint, CheckpointMetadata, CheckpointTuple } from "@langchain/langgraph-checkpoint";
import { PostgresSaver } from "@langchain/langgraph-checkpoint-postgres";
import type pg from "pg";
import { CheckpointSerializer } from "./checkpoint-serde.ts";
import type { StatementPart } from "./prepared.ts";

/**
 * Saves a checkpoint and forgets the thread's older ones, in one statement (one round trip, one
 * commit): the new channel blobs in one multi-row insert, the checkpoint row, then the thread's
 * other checkpoints, their pending writes and every blob the new checkpoint does not reference
 * are deleted. All of one statement's parts see the same snapshot, so the rows it inserts are
 * never among those it deletes.
 */
function putLatestCtes(first: number): string {
  const [thread, ns, id, parent, checkpoint, metadata, channels, versions, types, blobs] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) => `$${first + i}`);
  return `cp_blobs as (
  insert into checkpoint_blobs (thread_id, checkpoint_ns, channel, version, type, blob)
  select ${thread}, ${ns}, b.channel, b.version, b.type, b.blob
  from unnest(${channels}::text[], ${versions}::text[], ${types}::text[], ${blobs}::bytea[]) as b(channel, version, type, blob)
  on conflict (thread_id, checkpoint_ns, channel, version) do nothing
), cp_saved as (
  insert into checkpoints (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, checkpoint, metadata)
  values (${thread}, ${ns}, ${id}, ${parent}, ${checkpoint}, ${metadata})
  on conflict (thread_id, checkpoint_ns, checkpoint_id) do update set checkpoint = excluded.checkpoint, metadata = excluded.metadata
), cp_old_checkpoints as (
  delete from checkpoints where thread_id = ${thread} and checkpoint_ns = ${ns} and checkpoint_id <> ${id}
), cp_old_writes as (
  delete from checkpoint_writes where thread_id = ${thread} and checkpoint_ns = ${ns} and checkpoint_id <> ${id}
), cp_old_blobs as (
  delete from checkpoint_blobs
  where thread_id = ${thread} and checkpoint_ns = ${ns}
    and version is distinct from (${checkpoint}::jsonb -> 'channel_versions' ->> channel)
)`;
}

const PUT_LATEST_SQL = `with ${putLatestCtes(1)} select 1`;

/** A thread's latest checkpoint as `PostgresSaver.getTuple` reads it (its `SELECT_SQL`). */
export interface CheckpointRow {
  checkpoint_id: string;
  parent_checkpoint_id: string | null;
  checkpoint: Omit<Checkpoint, "pending_sends" | "channel_values"> & { v: number };
  metadata: Record<string, unknown>;
  channel_values: [Uint8Array, Uint8Array, Uint8Array][] | null;
  pending_writes: [Uint8Array, Uint8Array, Uint8Array, Uint8Array][] | null;
}

/** `LATEST_CHECKPOINT_COLUMNS` as a row holds them. */
export interface CheckpointColumns {
  cp_checkpoint_id: string | null;
  cp_parent_checkpoint_id: string | null;
  cp_checkpoint: CheckpointRow["checkpoint"] | null;
  cp_metadata: Record<string, unknown> | null;
  /** [channel, type, blob in base64][] (see `latestCheckpointJoin`); a null blob is an "empty" channel's, which is not read. */
  cp_channel_values: [string, string, string | null][] | null;
  cp_pending_writes: CheckpointRow["pending_writes"];
}

/**
 * The columns and the join that read a thread's latest checkpoint in another statement (the one
 * that begins a turn: one round trip less per message), as `PostgresSaver.getTuple` reads it;
 * `thread` is a SQL expression of the thread id. Hand the row to `deferring` (`checkpointRowOf`).
 * The channels' blobs come as JSON with base64 strings, not as `PostgresSaver`'s `bytea[][]`:
 * `pg` reads an array's text character by character in JavaScript (0.3 ms a turn for the memory
 * of a short conversation, more as it grows), JSON and base64 natively.
 */
export const LATEST_CHECKPOINT_COLUMNS = `cp.checkpoint_id as cp_checkpoint_id, cp.parent_checkpoint_id as cp_parent_checkpoint_id,
  cp.checkpoint as cp_checkpoint, cp.metadata as cp_metadata, cp.channel_values as cp_channel_values, cp.pending_writes as cp_pending_writes`;

export function latestCheckpointJoin(thread: string): string {
  return `left join lateral (
    select c.checkpoint_id, c.parent_checkpoint_id, c.checkpoint, c.metadata,
      (select json_agg(json_build_array(bl.channel, bl.type, encode(bl.blob, 'base64')))
       from jsonb_each_text(c.checkpoint -> 'channel_versions')
       join checkpoint_blobs bl on bl.thread_id = c.thread_id and bl.checkpoint_ns = c.checkpoint_ns
         and bl.channel = jsonb_each_text.key and bl.version = jsonb_each_text.value) as channel_values,
      (select array_agg(array[cw.task_id::text::bytea, cw.channel::bytea, cw.type::bytea, cw.blob] order by cw.task_id, cw.idx)
       from checkpoint_writes cw
       where cw.thread_id = c.thread_id and cw.checkpoint_ns = c.checkpoint_ns and cw.checkpoint_id = c.checkpoint_id) as pending_writes
    from checkpoints c where c.thread_id = ${thread} and c.checkpoint_ns = ''
    order by c.checkpoint_id desc limit 1
  ) cp on true`;
}

/** The checkpoint a row read with `LATEST_CHECKPOINT_COLUMNS`: null when the thread has none. */
export function checkpointRowOf(r: Partial<CheckpointColumns>): CheckpointRow | null {
  if (!r.cp_checkpoint_id || !r.cp_checkpoint) return null;
  return {
    checkpoint_id: r.cp_checkpoint_id,
    parent_checkpoint_id: r.cp_parent_checkpoint_id ?? null,
    checkpoint: r.cp_checkpoint,
    metadata: r.cp_metadata ?? {},
    channel_values: r.cp_channel_values?.map(([channel, type, blob]) => [Buffer.from(channel), Buffer.from(type), Buffer.from(blob ?? "", "base64")]) ?? null,
    pending_writes: r.cp_pending_writes ?? null,
  };
}

/** A thread's latest checkpoint, read beforehand for a graph run (see `deferring`). */
export interface PrefetchedCheckpoint {
  threadId: string;
  /** Null: the thread has no checkpoint. */
  row: CheckpointRow | null;
}

/**
 * LangGraph's `PostgresSaver`, keeping only what a later turn reads: the latest checkpoint of a
 * thread. Every turn of the supervisor starts a fresh run from START (it never resumes an
 * intermediate step or travels back in time), and it runs with `durability: "exit"`, so one
 * checkpoint is written per turn; the ones before it are history nobody reads, and they grew the
 * database by tens of KB per message. The conversation memory (the `messages` channel, bounded
 * by the supervisor) lives in that latest checkpoint, so it survives restarts as before.
 *
 * Writers of one thread take turns (the conversation lease), so no two `put`s of a thread race.
 * Checkpoints are read with {@link CheckpointSerializer} (LangGraph's format, a faster reader).
 */
export class LatestCheckpointSaver extends PostgresSaver {
  readonly #pool: pg.Pool;
  readonly #deferred = new AsyncLocalStorage<HeldCheckpoints>();

  constructor(pool: pg.Pool) {
    super(pool, new CheckpointSerializer());
    this.#pool = pool;
  }

  /**
   * Runs `fn` (a graph run) holding the checkpoints it puts instead of writing them: the caller
   * writes them (`held.write(tx)`) in the transaction that records the turn's outcome, so the
   * memory of a turn commits with its reply (one commit less, and no memory of a turn whose reply
   * was never recorded), or drops them when the turn failed and will be retried. Puts outside
   * `fn`, or after `write`, go to the database at once. With `prefetched` (the thread's latest
   * checkpoint, read by the caller in a statement of its own), the run's first read of that
   * thread's latest checkpoint is answered with it instead of a query.
   */
  async deferring<T>(fn: () => Promise<T>, prefetched?: PrefetchedCheckpoint): Promise<{ result: T; held: HeldCheckpoints }> {
    const held = new HeldCheckpoints();
    held.prefetched = prefetched;
    try {
      return { result: await this.#deferred.run(held, fn), held };
    } catch (err) {
      held.drop();
      throw err;
    }
  }

  override async getTuple(config: RunnableConfig): Promise<CheckpointTuple | undefined> {
    const held = this.#deferred.getStore();
    const prefetched = held?.prefetched;
    const { thread_id, checkpoint_ns = "", checkpoint_id } = (config.configurable ?? {}) as { thread_id?: string; checkpoint_ns?: string; checkpoint_id?: string };
    // Only the read it stands for: the latest checkpoint of its thread, once (what a run reads after
    // its own puts is held, not in the database either way). A checkpoint of the format before v4
    // needs PostgresSaver's migration: read as usual.
    if (!held || !prefetched || checkpoint_id || checkpoint_ns !== "" || thread_id !== prefetched.threadId || (prefetched.row && prefetched.row.checkpoint.v < 4)) {
      return super.getTuple(config);
    }
    held.prefetched = undefined;
    const row = prefetched.row;
    if (!row) return undefined;
    return {
      config: { configurable: { thread_id, checkpoint_ns, checkpoint_id: row.checkpoint_id } },
      checkpoint: await this._loadCheckpoint(row.checkpoint, row.channel_values ?? []),
      metadata: await this._loadMetadata(row.metadata),
      ...(row.parent_checkpoint_id ? { parentConfig: { configurable: { thread_id, checkpoint_ns, checkpoint_id: row.parent_checkpoint_id } } } : {}),
      pendingWrites: await this._loadWrites(row.pending_writes ?? []),
    };
  }

  override async put(config: RunnableConfig, checkpoint: Checkpoint, metadata: CheckpointMetadata, newVersions: ChannelVersions): Promise<RunnableConfig> {
    if (config.configurable === undefined) throw new Error(`Missing "configurable" field in "config" param`);
    const { thread_id, checkpoint_ns = "", checkpoint_id } = config.configurable as { thread_id: string; checkpoint_ns?: string; checkpoint_id?: string };
    const [blobs, serializedMetadata] = await Promise.all([this._dumpBlobs(thread_id, checkpoint_ns, checkpoint.channel_values, newVersions), this._dumpMetadata(metadata)]);
    const values = [
      thread_id,
      checkpoint_ns,
      checkpoint.id,
      checkpoint_id ?? null,
      JSON.stringify(this._dumpCheckpoint(checkpoint)),
      JSON.stringify(serializedMetadata),
      blobs.map((b) => b[2]),
      blobs.map((b) => b[3]),
      blobs.map((b) => b[4]),
      blobs.map((b) => (b[5] ? Buffer.from(b[5].buffer, b[5].byteOffset, b[5].byteLength) : null)),
    ];
    const held = this.#deferred.getStore();
    if (held?.open) held.puts.push(values);
    else await this.#pool.query(PUT_LATEST_SQL, values);
    return { configurable: { thread_id, checkpoint_ns, checkpoint_id: checkpoint.id } };
  }
}

/** Checkpoints a graph run put, not written yet (see `LatestCheckpointSaver.deferring`). */
export class HeldCheckpoints {
  /** Each put's statement values, in order. */
  readonly puts: unknown[][] = [];
  /** The thread's latest checkpoint, read beforehand; used (and cleared) by the run's first read of it. */
  prefetched: PrefetchedCheckpoint | undefined;
  #open = true;

  get open(): boolean {
    return this.#open;
  }

  /**
   * Writes the held checkpoints on `tx` (one statement each; one per turn with `durability:
   * "exit"`), issued at once, in order (they may share a pipelined transaction's round trip).
   */
  async write(tx: Pick<pg.ClientBase, "query">): Promise<void> {
    this.#open = false;
    await Promise.all(this.puts.splice(0).map((values) => tx.query(PUT_LATEST_SQL, values)));
  }

  /**
   * The held checkpoint as a part of another component's statement (the reply's record), which
   * then writes it; undefined when there is none. Only for at most one held checkpoint (a run
   * with `durability: "exit"`): several would be written by one statement's parts, which all see
   * the same snapshot, and the later would not replace the earlier. With more, use `write`.
   */
  takePart(): StatementPart | undefined {
    if (this.puts.length > 1) throw new Error("several held checkpoints cannot be one statement's part: write them on a transaction");
    this.#open = false;
    const values = this.puts.pop();
    return values && { ctes: putLatestCtes, values, result: "null::int" };
  }

  /** Forgets them: the run failed, and its retry starts from the memory before it. */
  drop(): void {
    this.#open = false;
    this.puts.length = 0;
  }
}
