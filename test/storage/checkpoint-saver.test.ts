import { randomUUID } from "node:crypto";
import { AIMessage, HumanMessage, type BaseMessage } from "@langchain/core/messages";
import { Annotation, END, MessagesAnnotation, START, StateGraph } from "@langchain/langgraph";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LatestCheckpointSaver } from "../../src/db/checkpoint-saver.ts";
import type { Database } from "../../src/db/database.ts";
import { databaseTargets } from "../helpers/databases.ts";

const State = Annotation.Root({
  ...MessagesAnnotation.spec,
  text: Annotation<string>(),
  turns: Annotation<number>({ reducer: (_a, b) => b, default: () => 0 }),
});

/** A two-step graph, compiled like the supervisor: a fresh run per turn, saved at its end. */
function graph(saver: LatestCheckpointSaver) {
  return new StateGraph(State)
    .addNode("remember", (s: typeof State.State) => ({ messages: [new HumanMessage(s.text)] }))
    .addNode("answer", (s: typeof State.State) => ({ messages: [new AIMessage(`echo ${s.text}`)], turns: s.turns + 1 }))
    .addEdge(START, "remember")
    .addEdge("remember", "answer")
    .addEdge("answer", END)
    .compile({ checkpointer: saver })
    .withConfig({ durability: "exit" });
}

const texts = (messages: BaseMessage[]) => messages.map((m) => String(m.content));

describe.each(databaseTargets())("the latest-checkpoint saver ($name)", (target) => {
  let db: Database;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    ({ db, drop } = await target.open());
    await new LatestCheckpointSaver(db.pool).setup();
  });
  afterAll(async () => drop());

  const rows = async (thread: string) => {
    const count = async (table: string) => Number((await db.pool.query(`select count(*) from ${table} where thread_id = $1`, [thread])).rows[0].count);
    // Blobs no checkpoint of the thread refers to: what pruning must leave none of.
    const orphans = await db.pool.query(
      `select count(*) from checkpoint_blobs b where thread_id = $1
         and not exists (select 1 from checkpoints c where c.thread_id = b.thread_id and c.checkpoint -> 'channel_versions' ->> b.channel = b.version)`,
      [thread],
    );
    return { checkpoints: await count("checkpoints"), writes: await count("checkpoint_writes"), orphanBlobs: Number(orphans.rows[0].count) };
  };

  it("keeps one checkpoint per thread with the whole memory, which a new saver (a restart) reads back", async () => {
    const [thread, other] = [randomUUID(), randomUUID()];
    const g = graph(new LatestCheckpointSaver(db.pool));
    await g.invoke({ text: "other" }, { configurable: { thread_id: other } });
    for (const text of ["one", "two", "three"]) await g.invoke({ text }, { configurable: { thread_id: thread } });

    expect(await rows(thread)).toEqual({ checkpoints: 1, writes: 0, orphanBlobs: 0 });
    // Pruning one thread leaves the others alone.
    expect((await rows(other)).checkpoints).toBe(1);

    const restarted = graph(new LatestCheckpointSaver(db.pool));
    const state = await restarted.getState({ configurable: { thread_id: thread } });
    expect(texts(state.values.messages)).toEqual(["one", "echo one", "two", "echo two", "three", "echo three"]);
    expect(state.values.turns).toBe(3);
    const otherState = await restarted.getState({ configurable: { thread_id: other } });
    expect(texts(otherState.values.messages)).toEqual(["other", "echo other"]);
  });

  it("takes a note written between turns (updateState) into the next turn's memory", async () => {
    const thread = randomUUID();
    const g = graph(new LatestCheckpointSaver(db.pool));
    await g.invoke({ text: "first" }, { configurable: { thread_id: thread } });
    await g.updateState({ configurable: { thread_id: thread } }, { messages: [new AIMessage("note from staff")] }, "answer");
    await g.invoke({ text: "second" }, { configurable: { thread_id: thread } });

    const state = await graph(new LatestCheckpointSaver(db.pool)).getState({ configurable: { thread_id: thread } });
    expect(texts(state.values.messages)).toEqual(["first", "echo first", "note from staff", "second", "echo second"]);
    expect(await rows(thread)).toEqual({ checkpoints: 1, writes: 0, orphanBlobs: 0 });
  });
});
