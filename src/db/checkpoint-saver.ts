import { AsyncLocalStorage } from "node:async_hooks";
import type { RunnableConfig } from "@langchain/core/runnables";
import type { ChannelVersions, Checkpoint, CheckpointMetadata } from "@langchain/langgraph-checkpoint";
import { PostgresSaver } from "@langchain/langgraph-checkpoint-postgres";
import type pg from "pg";
import { CheckpointSerializer } from "./checkpoint-serde.ts";

/**
 * Saves a checkpoint and forgets the thread's older ones, in one statement (one round trip, one
 * commit): the new channel blobs in one multi-row insert, the checkpoint row, then the thread's
 * other checkpoints, their pending writes and every blob the new checkpoint does not reference
 * are deleted. All of one statement's parts see the same snapshot, so the rows it inserts are
 * never among those it deletes.
 */
const PUT_LATEST_SQL = `
with blobs as (
  insert into checkpoint_blobs (thread_id, checkpoint_ns, channel, version, type, blob)
  select $1, $2, b.channel, b.version, b.type, b.blob
  from unnest($7::text[], $8::text[], $9::text[], $10::bytea[]) as b(channel, version, type, blob)
  on conflict (thread_id, checkpoint_ns, channel, version) do nothing
), saved as (
  insert into checkpoints (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, checkpoint, metadata)
  values ($1, $2, $3, $4, $5, $6)
  on conflict (thread_id, checkpoint_ns, checkpoint_id) do update set checkpoint = excluded.checkpoint, metadata = excluded.metadata
), old_checkpoints as (
  delete from checkpoints where thread_id = $1 and checkpoint_ns = $2 and checkpoint_id <> $3
), old_writes as (
  delete from checkpoint_writes where thread_id = $1 and checkpoint_ns = $2 and checkpoint_id <> $3
)
delete from checkpoint_blobs
where thread_id = $1 and checkpoint_ns = $2
  and version is distinct from ($5::jsonb -> 'channel_versions' ->> channel)`;

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
   * `fn`, or after `write`, go to the database at once.
   */
  async deferring<T>(fn: () => Promise<T>): Promise<{ result: T; held: HeldCheckpoints }> {
    const held = new HeldCheckpoints();
    try {
      return { result: await this.#deferred.run(held, fn), held };
    } catch (err) {
      held.drop();
      throw err;
    }
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
  #open = true;

  get open(): boolean {
    return this.#open;
  }

  /** Writes the held checkpoints on `tx` (one statement each; one per turn with `durability: "exit"`). */
  async write(tx: Pick<pg.ClientBase, "query">): Promise<void> {
    this.#open = false;
    for (const values of this.puts.splice(0)) await tx.query(PUT_LATEST_SQL, values);
  }

  /** Forgets them: the run failed, and its retry starts from the memory before it. */
  drop(): void {
    this.#open = false;
    this.puts.length = 0;
  }
}
