import { parentPort, workerData } from "node:worker_threads";
import { servePglite, type ServeOptions } from "./embedded.ts";

/**
 * The worker thread of an embedded database opened with `thread: true` (`switchboard serve`):
 * PGlite and its wire server run here, so Postgres (single-threaded WebAssembly, about 40 % of
 * serve's CPU under load) has a core of its own and the main thread keeps HTTP and the turns.
 *
 * Protocol with `startOnThread` in embedded.ts: workerData is the `ServeOptions`; the thread
 * posts `{ port }` once it listens (or `{ error }`), takes `"stop"`, and posts `"stopped"` once the
 * server and the database are closed, then ends.
 */
const port = parentPort;
if (!port) throw new Error("src/db/embedded-thread.ts runs as a worker thread only (see startOnThread in src/db/embedded.ts)");
try {
  const served = await servePglite(workerData as ServeOptions);
  port.on("message", (m: unknown) => {
    if (m !== "stop") return;
    void served.stop().then(
      () => {
        port.postMessage("stopped");
        port.close();
      },
      (err: unknown) => {
        port.postMessage({ error: String(err) });
        port.close();
      },
    );
  });
  port.postMessage({ port: served.port });
} catch (err) {
  port.postMessage({ error: String(err) });
  port.close();
}
