// A TCP proxy that a test puts between a client and kwps as a bad network and a load balancer: it cuts
// every live connection abruptly (TCP reset on both sides, no WebSocket close frame), can first stop
// passing what kwps sends (so that messages and acks are lost in flight), and can send new connections
// to another kwps process. Between kwps and Redis it can add latency, which widens the windows in which
// messages cross a session moving between processes.
import { once } from "node:events";
import { connect, createServer } from "node:net";

// How much of a connection's first bytes are searched for the HTTP request line.
const maxRequestLine = 8 << 10;
// How many delayed bytes one direction of a connection may hold before it stops reading.
const maxDelayedBytes = 1 << 20;

/**
 * One connection the proxy accepted.
 * @typedef {object} ProxiedConnection
 * @property {string} target the name of the target it was forwarded to
 * @property {string | null} recovers the awps_connection_id of the upgrade request (a reliable
 *   client's recovery), null for a new connection; undefined until the request line arrived
 */

export class TcpProxy {
  #server;
  #target;
  #latencyMs;
  #live = new Set();
  /** @type {ProxiedConnection[]} every connection accepted, in order */
  connections = [];

  /**
   * @param {{name: string, host: string, port: number}} target where connections go at first
   * @param {object} [options]
   * @param {number} [options.latencyMs] how long each chunk is held, in each direction (order kept)
   */
  constructor(target, { latencyMs = 0 } = {}) {
    this.#target = target;
    this.#latencyMs = latencyMs;
    this.#server = createServer((client) => this.#accept(client));
  }

  /** Listens on a free port of 127.0.0.1. */
  async listen() {
    this.#server.listen(0, "127.0.0.1");
    await once(this.#server, "listening");
    return this;
  }

  /** The proxy's host:port, to put in a client's URL instead of kwps's. */
  get host() {
    const { address, port } = this.#server.address();
    return `${address}:${port}`;
  }

  /**
   * Sends connections accepted from now on to target; live ones stay where they are until cut.
   * @param {{name: string, host: string, port: number}} target
   */
  switchTo(target) {
    this.#target = target;
  }

  /**
   * Stops passing what kwps sends on every live connection: it is discarded, as if lost in the network,
   * until the connection is cut. What the client sends still reaches kwps.
   */
  blackout() {
    for (const pair of this.#live) pair.blackout = true;
  }

  /** Resets every live connection on both sides at once: neither end gets a close frame. */
  cut() {
    const pairs = [...this.#live];
    this.#live.clear();
    for (const { client, upstream } of pairs) {
      reset(client);
      reset(upstream);
    }
    return pairs.length;
  }

  /** Cuts every live connection and stops listening. */
  async close() {
    this.cut();
    if (this.#server.listening) {
      const closed = once(this.#server, "close");
      this.#server.close();
      await closed;
    }
  }

  #accept(client) {
    const { name, host, port } = this.#target;
    const record = { target: name, recovers: undefined };
    this.connections.push(record);
    const upstream = connect(port, host);
    const pair = { client, upstream, blackout: false };
    this.#live.add(pair);
    const end = () => {
      this.#live.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    // Errors (resets, a target that is down) end both sides; they are what this proxy is for.
    client.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);

    let head = "";
    const latencyMs = this.#latencyMs;
    forward(client, upstream, latencyMs, () => false, (chunk) => {
      if (record.recovers !== undefined) return;
      head += chunk.toString("latin1", 0, Math.min(chunk.length, maxRequestLine));
      const line = /^[A-Z]+ (\S+) HTTP\/1\.1\r\n/.exec(head);
      if (line) {
        record.recovers = new URL(line[1], "http://proxy").searchParams.get("awps_connection_id");
      } else if (head.length >= maxRequestLine) {
        record.recovers = null;
      }
    });
    forward(upstream, client, latencyMs, () => pair.blackout);
  }
}

/**
 * Starts a proxy to target on a free port.
 * @param {{name: string, host: string, port: number}} target
 * @param {{latencyMs?: number}} [options]
 */
export function startProxy(target, options) {
  return new TcpProxy(target, options).listen();
}

/**
 * Copies from's data to to, latencyMs later, with backpressure, unless drop() says to discard it.
 * Timers of one duration fire in the order they were set, so the bytes keep their order.
 */
function forward(from, to, latencyMs, drop, observe = () => {}) {
  let delayed = 0;
  const write = (chunk) => {
    if (drop() || to.destroyed) return;
    if (!to.write(chunk)) {
      from.pause();
      to.once("drain", () => from.resume());
    }
  };
  from.on("data", (chunk) => {
    observe(chunk);
    if (latencyMs <= 0) {
      write(chunk);
      return;
    }
    delayed += chunk.length;
    if (delayed > maxDelayedBytes) from.pause();
    setTimeout(() => {
      delayed -= chunk.length;
      if (delayed <= maxDelayedBytes && from.isPaused() && to.writableLength === 0) from.resume();
      write(chunk);
    }, latencyMs);
  });
}

/** Ends a socket with a TCP reset (a plain destroy when it never connected). */
function reset(socket) {
  if (typeof socket.resetAndDestroy === "function" && !socket.connecting && !socket.destroyed) {
    socket.resetAndDestroy();
  } else {
    socket.destroy();
  }
}
