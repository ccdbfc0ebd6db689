// Starts a throwaway redis-server (the Debian package) for a test file: on a free loopback port, with
// no persistence, in a temporary directory, killed when the file ends however it ends (as kwps is).
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

import { freePort, killOnExit } from "./kwps.mjs";

// How much of redis-server's output is kept for failure messages.
const maxLogBytes = 16 << 10;

/**
 * A running redis-server.
 * @typedef {object} Redis
 * @property {string} url its URL for `kwps serve --redis`, e.g. redis://127.0.0.1:40123
 * @property {() => Promise<void>} stop kills it and removes its directory
 */

/**
 * Starts redis-server and resolves once it answers PING. A port taken between choosing it and
 * binding it is retried on another.
 * @param {object} [options]
 * @param {number} [options.readyTimeoutMs] how long to wait for PONG
 * @returns {Promise<Redis>}
 */
export async function startRedis({ readyTimeoutMs = 10_000 } = {}) {
  let lastErr;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(await freePort(), readyTimeoutMs);
    } catch (err) {
      lastErr = err;
      if (err.code === "ENOENT") break;
    }
  }
  throw lastErr;
}

async function startOnce(port, readyTimeoutMs) {
  const dir = await mkdtemp(join(tmpdir(), "kwps-compat-redis-"));
  const args = [
    "--port", String(port),
    "--bind", "127.0.0.1",
    "--dir", dir,
    "--save", "",
    "--appendonly", "no",
    "--daemonize", "no",
    "--protected-mode", "no",
    "--loglevel", "warning",
  ];
  const child = spawn("redis-server", args, { stdio: ["ignore", "pipe", "pipe"] });
  killOnExit(child);
  let logs = "";
  const keep = (chunk) => {
    logs = (logs + chunk).slice(-maxLogBytes);
  };
  child.stdout.setEncoding("utf8").on("data", keep);
  child.stderr.setEncoding("utf8").on("data", keep);
  let exit;
  const exited = new Promise((res) => child.once("exit", (code, signal) => res((exit = { code, signal }))));
  const spawnError = new Promise((res) => child.once("error", res));

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL"); // nothing to save: it runs without persistence
      await Promise.race([exited, spawnError]);
    }
    await rm(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    const failed = await Promise.race([spawnError, sleep(0)]);
    if (failed instanceof Error) {
      await stop();
      failed.message = `cannot run redis-server: ${failed.message} (install the redis-server package)`;
      throw failed;
    }
    if (exit !== undefined) {
      await stop();
      throw new Error(`redis-server exited (code ${exit.code}, signal ${exit.signal}) before it was ready: ${logs.trim()}`);
    }
    if (await answersPing(port)) {
      return { url: `redis://127.0.0.1:${port}`, stop };
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`redis-server did not answer PING within ${readyTimeoutMs} ms: ${logs.trim()}`);
    }
    await sleep(50);
  }
}

/** Reports whether a Redis on 127.0.0.1:port answers an inline PING within a second. */
function answersPing(port) {
  return new Promise((res) => {
    const socket = connect(port, "127.0.0.1");
    let reply = "";
    const done = (ok) => {
      clearTimeout(timer);
      socket.destroy();
      res(ok);
    };
    const timer = setTimeout(() => done(false), 1_000);
    socket.setEncoding("utf8");
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.on("data", (d) => {
      reply += d;
      if (reply.includes("\r\n")) done(reply.startsWith("+PONG"));
    });
    socket.once("error", () => done(false));
    socket.once("close", () => done(false));
  });
}
