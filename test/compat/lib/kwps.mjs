// Starts `kwps serve` for a test file: on free ports, with Hub manifests written to a temporary
// directory, ready once it prints its Endpoint= line. Every process started here is killed when the
// test file ends, fails, times out or is interrupted, so no kwps outlives its test.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

import { WebPubSubServiceClient } from "@azure/web-pubsub";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

/** The kwps binary: $KWPS_BIN, else bin/kwps of this repository (`make build`). */
export const kwpsBin = process.env.KWPS_BIN || join(repoRoot, "bin", "kwps");

// How much of kwps's stderr (JSON logs) is kept for failure messages.
const maxLogBytes = 256 << 10;

const running = new Set();

/**
 * Registers a child process to be killed (SIGKILL) when this test file's node process ends, however
 * it ends; it is forgotten once it exits. lib/redis.mjs uses it for redis-server.
 * @param {import("node:child_process").ChildProcess} child
 */
export function killOnExit(child) {
  running.add(child);
  child.once("exit", () => running.delete(child));
}

function killAll() {
  for (const child of running) {
    child.kill("SIGKILL");
  }
  running.clear();
}

// "exit" handlers must be synchronous: SIGKILL needs no waiting. Signals would otherwise end node
// without running "exit" handlers, so they are turned into an exit.
process.once("exit", killAll);
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.once(signal, () => {
    killAll();
    process.exit(128 + ({ SIGHUP: 1, SIGINT: 2, SIGTERM: 15 })[signal]);
  });
}

/** Returns a TCP port that was free a moment ago on 127.0.0.1. */
export async function freePort() {
  const srv = createServer();
  await new Promise((res, rej) => srv.once("error", rej).listen(0, "127.0.0.1", res));
  const { port } = srv.address();
  await new Promise((res) => srv.close(res));
  return port;
}

/**
 * A running `kwps serve`.
 * @typedef {object} Kwps
 * @property {string} connectionString the Endpoint= line kwps printed
 * @property {string} endpoint its Endpoint, e.g. http://127.0.0.1:40123
 * @property {string} accessKey the access key kwps was started with
 * @property {() => string} logs kwps's stderr so far (bounded)
 * @property {(hub: string) => WebPubSubServiceClient} serviceClient a server SDK client for hub
 * @property {() => Promise<void>} stop terminates kwps and removes its manifests
 */

/**
 * Starts `kwps serve` and resolves once it printed its Endpoint= line.
 * @param {object} [options]
 * @param {string[]} [options.manifests] Hub manifests (YAML), each written to its own file
 * @param {number} [options.port] public port (default: one the kernel picks)
 * @param {number} [options.readyTimeoutMs] how long to wait for the Endpoint= line
 * @param {string} [options.accessKey] the access key (default: a random one); processes that act as
 *   one service share it
 * @param {string} [options.redis] a Redis URL for `--redis`: the processes on it act as one service
 * @returns {Promise<Kwps>}
 */
export async function startKwps({
  manifests = [],
  port = 0,
  readyTimeoutMs = 30_000,
  accessKey = randomBytes(32).toString("base64"),
  redis,
} = {}) {
  const dir = await mkdtemp(join(tmpdir(), "kwps-compat-"));
  await Promise.all(manifests.map((m, i) => writeFile(join(dir, `hub-${i}.yaml`), m)));
  const args = ["serve", "-f", dir, "--listen", `127.0.0.1:${port}`, "--admin-listen", "127.0.0.1:0"];
  // The key and the Redis URL (which may hold a password) go through the environment, not argv, so
  // that they are not visible in process listings.
  const env = { ...process.env, KWPS_ACCESS_KEY: accessKey };
  if (redis !== undefined) env.KWPS_REDIS_URL = redis;
  const child = spawn(kwpsBin, args, { stdio: ["ignore", "pipe", "pipe"], env });
  killOnExit(child);
  const exited = new Promise((res) => child.once("exit", (code, signal) => res({ code, signal })));

  let logs = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (chunk) => {
    logs += chunk;
    if (logs.length > maxLogBytes) logs = logs.slice(-maxLogBytes);
  });
  // The Go test (compat_test.go) shows these logs when a test file fails.
  if (process.env.KWPS_COMPAT_LOG_DIR && child.pid !== undefined) {
    child.stderr.pipe(createWriteStream(join(process.env.KWPS_COMPAT_LOG_DIR, `kwps-${child.pid}.log`)));
  }

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    }
    running.delete(child);
    await rm(dir, { recursive: true, force: true });
  };

  let connectionString;
  try {
    connectionString = await new Promise((res, rej) => {
      const timer = setTimeout(
        () => rej(new Error(`kwps printed no Endpoint= line within ${readyTimeoutMs} ms`)),
        readyTimeoutMs,
      );
      const lines = createInterface({ input: child.stdout });
      lines.on("line", (line) => {
        if (line.startsWith("Endpoint=")) {
          clearTimeout(timer);
          res(line.trim());
        }
      });
      child.once("error", (err) => {
        clearTimeout(timer);
        rej(new Error(`cannot run ${kwpsBin}: ${err.message} (run make build, or set KWPS_BIN)`));
      });
      exited.then(({ code, signal }) => {
        clearTimeout(timer);
        rej(new Error(`kwps exited (code ${code}, signal ${signal}) before it was ready`));
      });
    });
  } catch (err) {
    await stop();
    if (logs) err.message += `\n--- kwps stderr ---\n${logs}`;
    throw err;
  }

  const endpoint = /Endpoint=([^;]+)/.exec(connectionString)[1];
  return {
    connectionString,
    endpoint,
    accessKey,
    logs: () => logs,
    // allowInsecureConnection: the SDK refuses http:// endpoints without it (DESIGN.md decision 15).
    serviceClient: (hub) =>
      new WebPubSubServiceClient(connectionString, hub, { allowInsecureConnection: true }),
    stop,
  };
}
