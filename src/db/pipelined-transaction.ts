import type pg from "pg";

/** What a pipelined transaction's statements run on (a checked-out client, guarded). */
export type PipelinedTx = Pick<pg.ClientBase, "query">;

/**
 * Runs `fn`'s statements in one transaction whose `begin`, statements and `commit` are all
 * issued before any of their answers is awaited. On a pipelining connection (`pg`'s
 * `pipeline: true`, the embedded database's pool) they travel to Postgres together, so the
 * transaction holds the database only while Postgres runs it. That matters on the embedded
 * database: its one PGlite session serves every connection, and a transaction left open while
 * this thread does other work (the next statement waiting for a turn of the event loop) held up
 * every other connection for as long. On a connection that does not pipeline, `pg` sends them one
 * after another, as a transaction would.
 *
 * `fn` must issue every statement before its first `await` (an `async` function runs up to
 * there at once): a statement issued later would run after the `commit`, outside the
 * transaction, so it is refused with an error instead. No statement may need an earlier one's
 * answer (read it in SQL: a subquery, or a key known beforehand). When any statement fails, the
 * transaction is rolled back (Postgres answers the `commit` of a failed transaction with a
 * rollback) and the first error is thrown. An error `fn` throws while reading answers of
 * statements that all succeeded does not undo them: the commit was on its way.
 */
export async function pipelinedTransaction<T>(pool: pg.Pool, fn: (tx: PipelinedTx) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let sealed = false;
  const tx: PipelinedTx = {
    query: ((...args: Parameters<pg.ClientBase["query"]>) => {
      if (sealed) throw new Error("a statement of a pipelined transaction was issued after its commit (see pipelinedTransaction): issue every statement before the first await");
      return (client.query as (...a: unknown[]) => unknown)(...args);
    }) as pg.ClientBase["query"],
  };
  let broken = false;
  try {
    const begun = client.query("begin");
    let work: Promise<T>;
    try {
      work = fn(tx);
    } catch (err) {
      work = Promise.reject(err);
    }
    sealed = true;
    // Issued now, behind the statements: it commits them, or rolls them back when one failed.
    const committed = client.query("commit");
    const settled = await Promise.allSettled([begun, work, committed]);
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
    if (failed) {
      // A commit that did not run means the connection broke: it is not reused.
      broken = settled[2]!.status === "rejected";
      throw failed.reason;
    }
    return (settled[1] as PromiseFulfilledResult<T>).value;
  } finally {
    client.release(broken || undefined);
  }
}
