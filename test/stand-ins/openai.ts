/**
 * A local stand-in for an OpenAI-compatible chat-completions endpoint (node:http on 127.0.0.1,
 * port 0), so the real @langchain/openai client, and so the wiring a user runs, is what the
 * tests exercise.
 *
 * It implements `POST /v1/chat/completions`, non-streaming: ChatOpenAI only streams when asked
 * (`streaming: true`, `.stream()`, or a graph streamed in "messages" mode), and Switchboard does
 * none of these, so a streaming request is answered with a 400 that says so instead of hanging.
 *
 * Answers come from a script: a queue of replies (taken first) and then a function of the
 * request. A reply is text, tool calls, a structured object (sent back the way the request
 * asked for it: `response_format: json_schema`, which @langchain/openai 1.6 uses by default for
 * `withStructuredOutput` on gpt-4o-class models, or a forced function call, which it uses for
 * older models or `method: "functionCalling"`), or an HTTP error. Every request is recorded.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

/** One message as the OpenAI wire format has it (only the fields tests look at are typed). */
export interface WireMessage {
  role: "system" | "developer" | "user" | "assistant" | "tool";
  content: string | Array<{ type: string; text?: string }> | null;
  tool_calls?: Array<{ id: string; type: "function"; function: { name: string; arguments: string } }>;
  tool_call_id?: string;
  name?: string;
}

export interface WireTool {
  type: "function";
  function: { name: string; description?: string; parameters?: JsonSchema; strict?: boolean };
}

export interface JsonSchema {
  type?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  enum?: unknown[];
  [key: string]: unknown;
}

/** The body of a chat-completions request. */
export interface ChatRequest {
  model: string;
  messages: WireMessage[];
  tools?: WireTool[];
  tool_choice?: "auto" | "none" | "required" | { type: "function"; function: { name: string } };
  response_format?: { type: "text" | "json_object" } | { type: "json_schema"; json_schema: { name: string; schema: JsonSchema; strict?: boolean } };
  stream?: boolean;
  [key: string]: unknown;
}

export interface RecordedRequest {
  /** 0-based, in arrival order. */
  index: number;
  method: string;
  path: string;
  /** The Authorization header, so a test can check the configured key was sent. */
  authorization: string | undefined;
  body: ChatRequest;
  /** What the stand-in answered: an HTTP status and which kind of reply. */
  status: number;
  reply: Reply["kind"] | "unscripted" | "bad_request";
  /** The token usage it reported with a completion. */
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

export type Reply =
  | { kind: "text"; content: string }
  | { kind: "tool_calls"; calls: Array<{ name: string; args: Record<string, unknown>; id?: string }>; content?: string }
  | { kind: "structured"; value: unknown }
  | { kind: "error"; status: number; message: string; headers?: Record<string, string> };

/** Decides the reply to one request; `index` counts requests answered by the function. */
export type ScriptFunction = (request: ChatRequest, index: number) => Reply | Promise<Reply>;

// ---- Reply helpers ------------------------------------------------------------------------------

/** A plain assistant answer (finish_reason "stop"). */
export const text = (content: string): Reply => ({ kind: "text", content });

/** An assistant turn that calls tools (finish_reason "tool_calls"); arguments are sent as JSON. */
export const toolCalls = (...calls: Array<{ name: string; args?: Record<string, unknown>; id?: string }>): Reply => ({
  kind: "tool_calls",
  calls: calls.map((c) => ({ name: c.name, args: c.args ?? {}, ...(c.id ? { id: c.id } : {}) })),
});

/** Structured output, in whichever form the request asked for (json_schema content or a function call). */
export const structured = (value: unknown): Reply => ({ kind: "structured", value });

/** An HTTP error with OpenAI's error body, e.g. `failure(500)` or `failure(429, "slow down", { "retry-after": "0" })`. */
export const failure = (status: number, message = `stand-in failure ${status}`, headers?: Record<string, string>): Reply => ({
  kind: "error",
  status,
  message,
  ...(headers ? { headers } : {}),
});

// ---- Request helpers (for script functions and assertions) --------------------------------------

/** The text of a message, whether its content is a string or content parts. */
export function messageText(m: WireMessage | undefined): string {
  if (!m || m.content === null) return "";
  if (typeof m.content === "string") return m.content;
  return m.content.map((p) => p.text ?? "").join("");
}

/** The system (or developer) prompt of a request. */
export function systemPrompt(req: ChatRequest): string {
  return req.messages.filter((m) => m.role === "system" || m.role === "developer").map(messageText).join("\n");
}

/** The names of the tools offered to the model (not counting a structured-output function). */
export function toolNames(req: ChatRequest): string[] {
  return (req.tools ?? []).map((t) => t.function.name);
}

/** Tool results sent back to the model so far, by the name of the tool that produced them. */
export function toolResults(req: ChatRequest): Array<{ name: string; content: string }> {
  const names = new Map<string, string>();
  for (const m of req.messages) for (const c of m.tool_calls ?? []) names.set(c.id, c.function.name);
  return req.messages
    .filter((m) => m.role === "tool")
    .map((m) => ({ name: names.get(m.tool_call_id ?? "") ?? "?", content: messageText(m) }));
}

/** The structured-output schema name the request asks for (json_schema or forced function), if any. */
export function structuredOutputName(req: ChatRequest): string | undefined {
  if (req.response_format?.type === "json_schema") return req.response_format.json_schema.name;
  if (typeof req.tool_choice === "object") return req.tool_choice.function.name;
  return undefined;
}

// ---- The server ---------------------------------------------------------------------------------

export interface OpenAIStandIn {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** What to set as OPENAI_BASE_URL: `<url>/v1`. */
  readonly baseUrl: string;
  /** Every request, in arrival order. */
  readonly requests: RecordedRequest[];
  /** Requests nothing in the script answered (they got a 400, which the client does not retry). */
  readonly unscripted: RecordedRequest[];
  /** Queues replies; queued replies are used before the script function, first in first out. */
  enqueue(...replies: Reply[]): void;
  /** Sets the function that answers when the queue is empty. */
  script(fn: ScriptFunction): void;
  /** Forgets requests, queue and function. */
  reset(): void;
  /** Stops listening and drops open connections; calling it again does nothing. */
  close(): Promise<void>;
}

export async function startOpenAIStandIn(script?: ScriptFunction): Promise<OpenAIStandIn> {
  const requests: RecordedRequest[] = [];
  const queue: Reply[] = [];
  let fn: ScriptFunction | undefined = script;
  let fnCalls = 0;
  let completionIds = 0;

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      void handle(req, Buffer.concat(chunks).toString("utf8"), res).catch((err: unknown) => {
        send(res, 500, { error: { message: `stand-in crashed: ${String(err)}`, type: "server_error", code: null } });
      });
    });
  });

  async function handle(req: http.IncomingMessage, raw: string, res: http.ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    if (req.method !== "POST" || path !== "/v1/chat/completions") {
      send(res, 404, { error: { message: `stand-in: no route ${req.method} ${path}`, type: "invalid_request_error", code: null } });
      return;
    }
    let body: ChatRequest;
    try {
      body = JSON.parse(raw) as ChatRequest;
    } catch {
      send(res, 400, { error: { message: "stand-in: body is not JSON", type: "invalid_request_error", code: null } });
      return;
    }
    const record: RecordedRequest = {
      index: requests.length,
      method: req.method,
      path,
      authorization: req.headers.authorization,
      body,
      status: 200,
      reply: "text",
    };
    requests.push(record);

    if (body.stream) {
      record.status = 400;
      record.reply = "bad_request";
      send(res, 400, { error: { message: "stand-in: streaming is not implemented; Switchboard does not stream", type: "invalid_request_error", code: null } });
      return;
    }
    const reply = queue.shift() ?? (fn ? await fn(body, fnCalls++) : undefined);
    if (!reply) {
      record.status = 400;
      record.reply = "unscripted";
      send(res, 400, { error: { message: `stand-in: no scripted reply for request ${record.index}`, type: "invalid_request_error", code: null } });
      return;
    }
    record.reply = reply.kind;
    if (reply.kind === "error") {
      record.status = reply.status;
      const type = reply.status === 429 ? "rate_limit_error" : reply.status >= 500 ? "server_error" : "invalid_request_error";
      send(res, reply.status, { error: { message: reply.message, type, code: null } }, reply.headers);
      return;
    }
    const answer = completion(body, reply, `chatcmpl-standin-${++completionIds}`);
    record.usage = answer.usage;
    send(res, 200, answer);
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;

  return {
    url,
    baseUrl: `${url}/v1`,
    requests,
    get unscripted() {
      return requests.filter((r) => r.reply === "unscripted");
    },
    enqueue: (...replies) => void queue.push(...replies),
    script: (f) => {
      fn = f;
      fnCalls = 0;
    },
    reset: () => {
      requests.length = 0;
      queue.length = 0;
      fn = undefined;
      fnCalls = 0;
    },
    close: () => {
      if (!server.listening) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}

type AssistantMessage = {
  role: "assistant";
  content: string | null;
  refusal: null;
  tool_calls?: Array<{ id: string; type: "function"; function: { name: string; arguments: string } }>;
};

let toolCallIds = 0;

function completion(req: ChatRequest, reply: Exclude<Reply, { kind: "error" }>, id: string) {
  let message: AssistantMessage;
  let finishReason: "stop" | "tool_calls";
  const asToolCall = (name: string, args: unknown, callId?: string) => ({
    id: callId ?? `call_standin_${++toolCallIds}`,
    type: "function" as const,
    function: { name, arguments: JSON.stringify(args) },
  });
  if (reply.kind === "text") {
    message = { role: "assistant", content: reply.content, refusal: null };
    finishReason = "stop";
  } else if (reply.kind === "tool_calls") {
    message = { role: "assistant", content: reply.content ?? null, refusal: null, tool_calls: reply.calls.map((c) => asToolCall(c.name, c.args, c.id)) };
    finishReason = "tool_calls";
  } else if (req.response_format?.type !== "json_schema" && typeof req.tool_choice === "object") {
    // Function-calling structured output: the model "calls" the forced function with the object.
    message = { role: "assistant", content: null, refusal: null, tool_calls: [asToolCall(req.tool_choice.function.name, reply.value)] };
    finishReason = "stop";
  } else {
    // json_schema (or json_object) structured output: the object as the message content.
    message = { role: "assistant", content: JSON.stringify(reply.value), refusal: null };
    finishReason = "stop";
  }
  const promptTokens = req.messages.reduce((n, m) => n + Math.ceil(messageText(m).length / 4), 0);
  const completionTokens = Math.ceil((message.content?.length ?? 0) / 4) + (message.tool_calls?.length ?? 0) * 10;
  return {
    id,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model: req.model,
    system_fingerprint: null,
    choices: [{ index: 0, message, logprobs: null, finish_reason: finishReason }],
    usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
  };
}

function send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(payload), ...headers });
  res.end(payload);
}
