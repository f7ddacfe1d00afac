import { describe, expect, it } from "vitest";
import { RecentIds } from "../../bots/discord/recent-ids.ts";
import { BoundedSet, OnceGuard } from "../../bots/slack/memory.ts";

describe("the adapter's memory", () => {
  it("forgets the least recently added keys past its size", () => {
    const set = new BoundedSet(2);
    set.add("a");
    set.add("b");
    set.add("a"); // refreshed
    set.add("c");
    expect([set.has("a"), set.has("b"), set.has("c"), set.size]).toEqual([true, false, true, 2]);
  });

  it("runs a task once per key: a concurrent repeat waits and is told so, a later one too", async () => {
    const guard = new OnceGuard(10);
    let runs = 0;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const first = guard.run("k", async () => {
      runs += 1;
      await gate;
      return "stored";
    });
    const settled: string[] = [];
    void first.then(() => settled.push("first"));
    const concurrent = guard.run("k", async () => "again");
    void concurrent.then(() => settled.push("concurrent"));
    // While the first runs, the repeat is not answered yet: it waits for the first to finish.
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toEqual([]);
    release();
    expect(await first).toEqual({ repeat: false, result: "stored" });
    expect(await concurrent).toEqual({ repeat: true });
    expect(settled).toEqual(["first", "concurrent"]);
    expect(await guard.run("k", async () => "later")).toEqual({ repeat: true });
    expect(runs).toBe(1);
  });

  it("remembers up to its size: the oldest ids go first, a repeat keeps its place", () => {
    const ids = new RecentIds(2);
    expect(ids.add("a")).toBe(true);
    expect(ids.add("b")).toBe(true);
    expect(ids.add("a")).toBe(false);
    expect(ids.add("c")).toBe(true);
    expect([ids.has("a"), ids.has("b"), ids.has("c")]).toEqual([false, true, true]);
    ids.delete("c");
    expect(ids.add("c")).toBe(true);
  });

  it("forgets a key whose task failed, so a redelivery can try again", async () => {
    const guard = new OnceGuard(10);
    await expect(guard.run("k", async () => Promise.reject(new Error("db down")))).rejects.toThrow("db down");
    expect(await guard.run("k", async () => "stored")).toEqual({ repeat: false, result: "stored" });
  });
});
