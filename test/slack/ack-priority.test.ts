import diagnosticsChannel from "node:diagnostics_channel";
import { Worker } from "node:worker_threads";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Changes, HANG_GUARD_MS } from "../helpers/wait-until.ts";
import { signSlackRequest, slashCommandBody } from "../stand-ins/slack-requests.ts";
import { SIGNING_SECRET, startHarness, type Harness } from "./harness.ts";

/**
 * A burst of `/support` commands against the production setting (store, then ack): every ack is
 * written before the first question is posted. The burst is made to wait, whole, for one poll of
 * the service's event loop (Slack's side writes it, on connections open already, from another
 * thread while this one is blocked), so the test orders events, not clocks: with posting run in
 * the acks' microtask drain, as before, the first request's question post started before the
 * second request was read. (Open connections: Node accepts one new connection per loop
 * iteration, and the requests of a burst come on kept-alive ones.)
 */

const BURST = 50;

/**
 * Slack's side, in a worker thread: opens a connection per request and says so; told to go, writes
 * all the requests, then says so through `written` (this thread is blocked meanwhile).
 */
const SLACK_SIDE = `
const { workerData, parentPort } = require("node:worker_threads");
const net = require("node:net");
const { port, requests, written } = workerData;
const flag = new Int32Array(written);
const statuses = new Array(requests.length);
let connected = 0;
let sent = 0;
let answered = 0;
const sockets = requests.map((raw, i) => {
  let response = "";
  const socket = net.connect(port, "127.0.0.1", () => {
    connected += 1;
    if (connected === requests.length) parentPort.postMessage({ connected });
  });
  socket.setEncoding("latin1");
  socket.on("data", (chunk) => (response += chunk));
  socket.on("close", () => {
    statuses[i] = Number(/^HTTP\\/1\\.1 (\\d{3})/.exec(response)?.[1] ?? 0);
    answered += 1;
    if (answered === requests.length) parentPort.postMessage({ statuses });
  });
  return socket;
});
parentPort.once("message", () => {
  sockets.forEach((socket, i) =>
    socket.write(requests[i], () => {
      sent += 1;
      if (sent === requests.length) {
        Atomics.store(flag, 0, 1);
        Atomics.notify(flag, 0);
      }
    }),
  );
});
`;

function rawRequest(body: string): string {
  const headers = {
    host: "127.0.0.1",
    "content-type": "application/x-www-form-urlencoded",
    "content-length": String(Buffer.byteLength(body)),
    connection: "close",
    ...signSlackRequest(SIGNING_SECRET, body),
  };
  return `POST /slack/events HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}`).join("\r\n")}\r\n\r\n${body}`;
}

describe("Slack acks before the work after them", () => {
  let h: Harness;
  /** "ack" when a response to Slack was written, "post" when a `chat.postMessage` request was created. */
  const events: Array<"ack" | "post"> = [];
  const onRequest = (message: unknown) => {
    const path = String((message as { request?: { path?: unknown } }).request?.path ?? "");
    if (path.includes("chat.postMessage")) events.push("post");
  };

  beforeAll(async () => {
    h = await startHarness({
      transport: "http",
      logLevel: "warn",
      configureServer: (server) =>
        server.addHook("onResponse", async (request) => {
          if (request.url === "/slack/events") events.push("ack");
        }),
    });
    // Every HTTP request the Web API client makes, whichever fetch it uses (undici publishes these).
    diagnosticsChannel.subscribe("undici:request:create", onRequest);
  });

  afterAll(async () => {
    diagnosticsChannel.unsubscribe("undici:request:create", onRequest);
    await h?.close();
  });

  it("writes all 50 acks of a burst before the first question post starts, then posts every question and answer", async () => {
    const port = Number(new URL(h.eventsUrl).port);
    const requests = Array.from({ length: BURST }, (_, i) =>
      rawRequest(slashCommandBody({ text: `burst question ${i + 1}`, channelId: "C0BURST", triggerId: `burst-${i + 1}` })),
    );
    const written = new SharedArrayBuffer(4);
    let accepted = 0;
    const allAccepted = new Promise<void>((resolve) =>
      h.server?.server.on("connection", () => {
        accepted += 1;
        if (accepted === BURST) resolve();
      }),
    );
    const slack = new Worker(SLACK_SIDE, { eval: true, workerData: { port, requests, written } });
    const messages: Array<{ connected?: number; statuses?: number[] }> = [];
    const changed = new Changes();
    slack.on("message", (m: { connected?: number; statuses?: number[] }) => {
      messages.push(m);
      changed.notify();
    });
    slack.once("error", (err) => {
      messages.push({ statuses: [] });
      changed.notify();
      throw err;
    });
    await changed.until(() => messages.some((m) => m.connected === BURST), "Slack's side connected");
    await allAccepted;
    slack.postMessage("go");
    // This thread stays busy until Slack's side has written the whole burst (the kernel takes the
    // bytes meanwhile): the next poll finds all 50 requests waiting.
    // ("not-equal": written before this thread even started to wait; as good.)
    expect(Atomics.wait(new Int32Array(written), 0, 0, HANG_GUARD_MS)).not.toBe("timed-out");

    const answered = await changed.until(() => messages.find((m) => m.statuses)?.statuses, "Slack's side answered");
    expect(answered).toEqual(Array(BURST).fill(200));
    await slack.terminate();
    await h.sink.waitForDeliveries(2 * BURST);

    const firstPost = events.indexOf("post");
    expect(firstPost, "acks written before the first question post started").toBe(BURST);
    expect(events.filter((e) => e === "ack")).toHaveLength(BURST);

    // Nothing was lost on the way: each question posted once in the channel, each answer in its thread.
    const posts = h.api.calls.filter((c) => c.method === "chat.postMessage" && c.args["channel"] === "C0BURST");
    const questions = posts.filter((c) => c.args["thread_ts"] === undefined);
    const answers = posts.filter((c) => c.args["thread_ts"] !== undefined);
    expect(questions).toHaveLength(BURST);
    expect(new Set(answers.map((c) => c.args["thread_ts"]))).toEqual(new Set(questions.map((c) => c.response["ts"])));
    expect(h.sink.deliveryErrors).toEqual([]);
  });
});
