import { Agent, fetch } from "undici";

/** One server-sent event as a client sees it. */
export interface SseEvent {
  id: string | undefined;
  event: string;
  data: string;
}

export interface EventStreamClient {
  status: number;
  /** The JSON error body when the stream was refused. */
  error: Record<string, any> | undefined;
  contentType: string | null;
  /** The next event (comments and `retry:` lines are skipped); rejects when the stream ends first. */
  next(): Promise<SseEvent>;
  /** The next `count` events. */
  take(count: number): Promise<SseEvent[]>;
  close(): void;
}

/**
 * A small EventSource for tests: fetch with a streaming body, parsed per the SSE rules we use
 * (one `data:` line per event). `Last-Event-ID` is passed as a header, as EventSource does on a
 * reconnect.
 */
export async function openEventStream(url: string, headers: Record<string, string> = {}): Promise<EventStreamClient> {
  const controller = new AbortController();
  // Its own connection pool, destroyed on close: a shared pool keeps a spare connection open that
  // makes the server's close wait for the pool's keep-alive timeout.
  const agent = new Agent();
  const res = await fetch(url, { headers: { accept: "text/event-stream", ...headers }, signal: controller.signal, dispatcher: agent });
  const contentType = res.headers.get("content-type");
  if (!contentType?.startsWith("text/event-stream") || !res.body) {
    const error = (await res.json()) as Record<string, any>;
    await agent.close();
    return { status: res.status, error, contentType, next: () => Promise.reject(new Error("no stream")), take: () => Promise.reject(new Error("no stream")), close: () => {} };
  }
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  const next = async (): Promise<SseEvent> => {
    for (;;) {
      const end = buffer.indexOf("\n\n");
      if (end >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event: SseEvent = { id: undefined, event: "message", data: "" };
        let hasData = false;
        for (const line of frame.split("\n")) {
          if (line.startsWith(":")) continue;
          const colon = line.indexOf(":");
          const field = colon < 0 ? line : line.slice(0, colon);
          const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
          if (field === "id") event.id = value;
          else if (field === "event") event.event = value;
          else if (field === "data") {
            event.data = hasData ? `${event.data}\n${value}` : value;
            hasData = true;
          }
        }
        if (hasData) return event;
        continue;
      }
      const { value, done } = await reader.read();
      if (done) throw new Error("the stream ended");
      buffer += value;
    }
  };
  return {
    status: res.status,
    error: undefined,
    contentType,
    next,
    take: async (count) => {
      const events: SseEvent[] = [];
      while (events.length < count) events.push(await next());
      return events;
    },
    close: () => {
      controller.abort();
      void agent.destroy();
    },
  };
}
