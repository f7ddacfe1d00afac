import { request } from "undici";

/**
 * The `fetch` the Web API clients are given (`WebClientOptions.fetch`): undici's `request` under a
 * `Response`. Node's own `fetch` spent ~1 ms of CPU per call on its WHATWG machinery (request
 * objects, streams, the fetch algorithm's steps), a quarter of a `/support` command's whole cost
 * with its two posts; `request` on the same connection pool costs ~0.3 ms. What the clients send
 * is a POST with a string body (form fields, or JSON to a `response_url`) and a plain header
 * object, answered by a small JSON body; anything else (a stream, a form upload, a URL or Request
 * object) goes to the global `fetch` unchanged.
 *
 * Redirects are not followed, as the Web API client asks (`redirect: "error"`): a 3xx comes back
 * as an answer that is not a 200, which the client reports as an HTTP error.
 */
export const webApiFetch: typeof fetch = async (input, init) => {
  const body = init?.body;
  const headers = init?.headers;
  const plainHeaders = headers === undefined || (typeof headers === "object" && !Array.isArray(headers) && !(headers instanceof Headers));
  if (typeof input !== "string" || (body != null && typeof body !== "string") || !plainHeaders) return fetch(input, init);
  const res = await request(input, {
    method: (init?.method ?? "GET") as "GET",
    ...(headers === undefined ? {} : { headers: headers as Record<string, string> }),
    ...(body == null ? {} : { body }),
    ...(init?.signal ? { signal: init.signal } : {}),
  });
  const content = await res.body.arrayBuffer();
  const responseHeaders = new Headers();
  for (const [name, value] of Object.entries(res.headers)) {
    if (Array.isArray(value)) for (const v of value) responseHeaders.append(name, v);
    else if (value !== undefined) responseHeaders.set(name, value);
  }
  const noBody = res.statusCode === 204 || res.statusCode === 205 || res.statusCode === 304;
  return new Response(noBody ? null : content, { status: res.statusCode, headers: responseHeaders });
};
