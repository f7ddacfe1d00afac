/**
 * In-process inbox: messages of one conversation run one at a time, in arrival order (the graph's
 * memory depends on it); different conversations run concurrently, up to `concurrency`.
 *
 * Durability comes from the conversation log, not from here: a message is stored before it is
 * queued, and messages left unfinished by a crash are queued again at start
 * (`Pipeline.recover`).
 */
export class Inbox {
  private readonly tails = new Map<string, Promise<unknown>>();
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  private stopped = false;

  /** @param concurrency Conversations processed at once. Default 8. */
  constructor(private readonly concurrency = 8) {}

  /** Queues `job` behind the conversation's earlier jobs; resolves with its result. */
  enqueue<T>(conversationId: string, job: () => Promise<T>): Promise<T> {
    if (this.stopped) return Promise.reject(new Error("the inbox is stopped"));
    const previous = this.tails.get(conversationId) ?? Promise.resolve();
    const run = previous.then(
      () => this.withSlot(job),
      () => this.withSlot(job),
    );
    const tail = run.catch(() => {});
    this.tails.set(conversationId, tail);
    void tail.then(() => {
      if (this.tails.get(conversationId) === tail) this.tails.delete(conversationId);
    });
    return run;
  }

  /** Jobs queued or running. */
  get depth(): number {
    return this.tails.size;
  }

  /** Stops taking work and waits for what is queued to finish. */
  async drain(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.tails.values()]);
  }

  private async withSlot<T>(job: () => Promise<T>): Promise<T> {
    if (this.running >= this.concurrency) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.running++;
    try {
      return await job();
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }
}
