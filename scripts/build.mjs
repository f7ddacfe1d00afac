// `npm run build` (and `prepare`, which `npm ci` runs): bundles src/, bots/ and agents/ with their
// dependencies into dist/ with esbuild (type-checking is `npm run typecheck`'s job), then copies
// the files the code reads beside itself — migrations, the demo knowledge base, the router
// corpus, demo SQL, the console's assets — to the same relative places.
//
// Why a bundle: Node loads an ES module per file, and a start of `switchboard` loaded about 1,500
// of them (LangChain, zod, langsmith, …): reading, parsing and linking them was about a second of
// CPU per start. A few dozen bundled files load in a fraction of that. Code that is imported with
// `await import()` (Slack, Discord, the LLM engine, the console, a command's own modules) stays
// in chunks of its own that load only when used.
//
// The entry points keep their places (dist/bots/cli/main.js is what bin/switchboard.js runs; the
// tests' worker processes import dist/bots/cli/worker.js, dist/src/config.js, …); shared code is in
// dist/chunks/. A module's `import.meta.dirname` and `import.meta.url` are rewritten to the place
// the module would have in dist/ (found from the `.built` stamp at dist/'s root), so paths
// relative to a source file mean the same in dist/ as in the sources.
//
// It builds into a new folder and swaps it in, so a deleted source leaves nothing behind and a
// command started meanwhile never sees half a build.
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import * as esbuild from "esbuild";

const root = path.resolve(import.meta.dirname, "..");
const dist = path.join(root, "dist");
const next = path.join(root, `dist.next-${process.pid}`);
const old = path.join(root, `dist.old-${process.pid}`);
// Sources edited while this runs are newer than the stamp (below), so the next check rebuilds.
const started = new Date();

/** What other processes (test/inbox/worker-main.mjs, test/steps/step-main.mjs) and threads (the embedded database of `serve`) import from dist/ besides bin/switchboard.js's entry. */
const ENTRY_POINTS = ["bots/cli/main.ts", "bots/cli/worker.ts", "src/config.ts", "src/logger.ts", "agents/workers/registry.ts", "src/db/embedded-thread.ts"];

/**
 * Packages loaded from node_modules as they are, not bundled: PGlite finds its WebAssembly and
 * data files beside its own modules, argon2 is native code, pino starts its transports (and
 * pino-pretty) by file name, graphile-worker reads its SQL migrations from its folder, and Slack and Discord
 * (bolt, discord.js and its worker-thread shards) load only when configured anyway.
 */
const EXTERNAL = [
  "@electric-sql/pglite",
  "@electric-sql/pglite/*",
  "@electric-sql/pglite-socket",
  "@node-rs/argon2",
  "pino",
  "pino-pretty",
  "graphile-worker",
  "discord.js",
  "@slack/bolt",
  "pg-native",
];

/**
 * Prepended to every output file. `require` for the CommonJS packages bundled into ES modules
 * (their `require("fs")` and the like); `__sbDir` / `__sbUrl` for the rewritten `import.meta`
 * (see {@link importMetaRelativeToDist}).
 */
const BANNER = `import { createRequire as __sbCreateRequire } from "node:module";
import { fileURLToPath as __sbFileURLToPath, pathToFileURL as __sbPathToFileURL } from "node:url";
import __sbPath from "node:path";
import __sbFs from "node:fs";
const require = __sbCreateRequire(import.meta.url);
let __sbRootFound;
const __sbRoot = () => {
  if (__sbRootFound) return __sbRootFound;
  let d = __sbPath.dirname(__sbFileURLToPath(import.meta.url));
  while (!__sbFs.existsSync(__sbPath.join(d, ".built"))) {
    const up = __sbPath.dirname(d);
    if (up === d) throw new Error("dist/.built is missing: run \`npm run build\`");
    d = up;
  }
  return (__sbRootFound = d);
};
const __sbDir = (rel) => __sbPath.join(__sbRoot(), rel);
const __sbUrl = (rel) => __sbPathToFileURL(__sbPath.join(__sbRoot(), rel)).href;`;

/** Rewrites a source module's `import.meta.dirname` / `.url` to its place in dist/ (its output file may be a shared chunk elsewhere). */
const importMetaRelativeToDist = {
  name: "import-meta-relative-to-dist",
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, async (args) => {
      const rel = path.relative(root, args.path);
      if (rel.startsWith("..") || rel.split(path.sep).includes("node_modules")) return undefined;
      let contents = await fs.promises.readFile(args.path, "utf8");
      const asJs = rel.split(path.sep).join("/").replace(/\.ts$/, ".js");
      contents = contents
        .replaceAll("import.meta.dirname", `__sbDir(${JSON.stringify(path.posix.dirname(asJs))})`)
        .replaceAll("import.meta.url", `__sbUrl(${JSON.stringify(asJs)})`);
      return { contents, loader: "ts" };
    });
  },
};

/** `highlight.js` (under marked-terminal) as its core with a few languages: bots/cli/highlight-languages.cjs says why. */
const fewerHighlightLanguages = {
  name: "fewer-highlight-languages",
  setup(build) {
    build.onResolve({ filter: /^highlight\.js$/ }, () => ({ path: path.join(root, "bots/cli/highlight-languages.cjs") }));
  },
};

/**
 * @langchain/core's copy of `uuid` draws 16 random bytes from `crypto.getRandomValues` for every
 * id, and LangGraph makes a time-ordered id (uuid6) for every checkpoint of every superstep, a
 * dozen a turn. Each draw is a call into OpenSSL (5–13 µs here, where system calls are slow);
 * `uuid`'s own Node build draws 256 bytes at a time and hands them out 16 by 16, as this does.
 */
const pooledUuidRandom = {
  name: "pooled-uuid-random",
  setup(build) {
    build.onLoad({ filter: /[\\/]@langchain[\\/]core[\\/]dist[\\/]utils[\\/]uuid[\\/]rng\.js$/ }, () => ({
      contents: `import { randomFillSync } from "node:crypto";
const pool = new Uint8Array(256);
let next = pool.length;
export default function rng() {
  if (next > pool.length - 16) { randomFillSync(pool); next = 0; }
  return pool.slice(next, (next += 16));
}`,
      loader: "js",
    }));
  },
};

/**
 * pg asks at load whether it runs in a Cloudflare Worker (pg/lib/stream.js): with no `navigator`
 * (Node 20) it builds a `Response`, and that loads Node's fetch implementation (undici), about
 * 40 ms of CPU at every start of a command that opens a database, for an answer that is always
 * "no" here (Switchboard runs on Node). The bundled copy answers at once. A pg whose stream.js
 * no longer has the function fails the build, so the check is looked at again, not left wrong.
 */
const pgOnNodeOnly = {
  name: "pg-on-node-only",
  setup(build) {
    build.onLoad({ filter: /[\\/]node_modules[\\/]pg[\\/]lib[\\/]stream\.js$/ }, async (args) => {
      const contents = await fs.promises.readFile(args.path, "utf8");
      const check = "function isCloudflareRuntime() {";
      if (!contents.includes(check)) throw new Error(`${args.path}: no \`${check}\` any more: see pgOnNodeOnly in scripts/build.mjs`);
      return { contents: contents.replace(check, `${check}\n  return false;`), loader: "js" };
    });
  },
};

/**
 * SHA-256 of every source file, by its path from the root: caches of what the code computes
 * (src/source-hash.ts) are keyed by the code's hash, and a bundle has no source files to read.
 */
function sourceHashes() {
  const hashes = {};
  for (const dir of ["src", "bots", "agents"]) {
    for (const rel of fs.readdirSync(path.join(root, dir), { recursive: true })) {
      const file = path.posix.join(dir, rel.split(path.sep).join("/"));
      if (!/\.[cm]?[jt]s$/.test(file) || !fs.statSync(path.join(root, file)).isFile()) continue;
      hashes[file] = createHash("sha256").update(fs.readFileSync(path.join(root, file))).digest("hex");
    }
  }
  return hashes;
}

fs.rmSync(next, { recursive: true, force: true });
try {
  const result = await esbuild.build({
    entryPoints: ENTRY_POINTS.map((f) => path.join(root, f)),
    outbase: root,
    outdir: next,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20.12",
    chunkNames: "chunks/[name]-[hash]",
    external: EXTERNAL,
    banner: { js: BANNER },
    define: { SWITCHBOARD_SOURCE_HASHES: JSON.stringify(sourceHashes()) },
    plugins: [importMetaRelativeToDist, fewerHighlightLanguages, pooledUuidRandom, pgOnNodeOnly],
    // Less to read and parse at every start; names are kept, so stack traces stay readable.
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: "none",
    // Off unless NODE_OPTIONS=--enable-source-maps (see bin/switchboard.js).
    sourcemap: "linked",
    logLevel: "warning",
    metafile: Boolean(process.env["BUILD_METAFILE"]),
  });
  // What went where (BUILD_METAFILE=file): for esbuild's bundle analyzer, or to see what a start loads.
  if (process.env["BUILD_METAFILE"]) fs.writeFileSync(process.env["BUILD_METAFILE"], JSON.stringify(result.metafile));
} catch {
  fs.rmSync(next, { recursive: true, force: true });
  process.exit(1);
}
const notCode = (src) => fs.statSync(src).isDirectory() || !/\.(ts|tsx|mts|cts)$/.test(src);
for (const dir of ["src", "bots", "agents"]) {
  fs.cpSync(path.join(root, dir), path.join(next, dir), { recursive: true, filter: notCode });
}
fs.cpSync(path.join(root, "migrations"), path.join(next, "migrations"), { recursive: true });
// When the sources were built: the test suite's "is dist/ current?" check (test/global-setup.ts),
// and the mark of dist/'s root for the rewritten `import.meta` (BANNER).
fs.writeFileSync(path.join(next, ".built"), `${started.toISOString()}\n`);
fs.utimesSync(path.join(next, ".built"), started, started);

if (fs.existsSync(dist)) fs.renameSync(dist, old);
fs.renameSync(next, dist);
fs.rmSync(old, { recursive: true, force: true });
