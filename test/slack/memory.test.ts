import { describe, expect, it } from "vitest";
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
    const concurrent = guard.run("k", async () => "again");
    release();
    expect(await first).toEqual({ repeat: false, result: "stored" });
    expect(await concurrent).toEqual({ repeat: true });
    expect(await guard.run("k", async () => "later")).toEqual({ repeat: true });
    expect(runs).toBe(1);
  });

  it("forgets a key whose task failed, so a redelivery can try again", async () => {
    const guard = new OnceGuard(10);
    await expect(guard.run("k", async () => Promise.reject(new Error("db down")))).rejects.toThrow("db down");
    expect(await guard.run("k", async () => "stored")).toEqual({ repeat: false, result: "stored" });
  });
});
