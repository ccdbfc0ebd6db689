// Clients as apps use them: @azure/web-pubsub-client with the JSON subprotocol, and plain `ws`
// sockets (simple WebSocket clients). Each records what it receives in an Inbox and is closed when the
// test that opened it ends.
import { WebPubSubClient, WebPubSubJsonProtocol } from "@azure/web-pubsub-client";
import WebSocket from "ws";

import { Inbox, arrivalTimeoutMs } from "./inbox.mjs";

/**
 * Options for the JSON client: no automatic reconnect (a test that closes a connection wants it to
 * stay closed) and no message retries (a failed ack must fail the call, not be retried into success).
 */
export function jsonClientOptions(extra = {}) {
  return {
    protocol: WebPubSubJsonProtocol(),
    autoReconnect: false,
    messageRetryOptions: { maxRetries: 0 },
    ...extra,
  };
}

/**
 * A started @azure/web-pubsub-client with its events in an Inbox: items are
 * {type: "connected", connectionId, userId}, {type: "group-message", ...message},
 * {type: "server-message", ...message}, {type: "disconnected", connectionId, message}, {type: "stopped"}.
 * @typedef {object} JsonClient
 * @property {WebPubSubClient} client
 * @property {Inbox} events
 * @property {string} connectionId
 * @property {string | null | undefined} userId
 */

/** Creates a JSON client (not started) whose events go to an Inbox; the test stops it at its end. */
export function newJsonClient(t, url, options = {}) {
  const client = new WebPubSubClient(url, jsonClientOptions(options));
  const events = new Inbox(`client ${t.name}`);
  client.on("connected", (e) => events.push({ type: "connected", ...e }));
  client.on("disconnected", (e) => events.push({ type: "disconnected", ...e }));
  client.on("stopped", () => events.push({ type: "stopped" }));
  client.on("group-message", (e) => events.push({ ...e.message, type: "group-message" }));
  client.on("server-message", (e) => events.push({ ...e.message, type: "server-message" }));
  t.after(() => client.stop());
  return { client, events };
}

/**
 * Starts a JSON client for url (a client access URL, or a credential {getClientAccessUrl}) and waits for
 * its connected event.
 * @returns {Promise<JsonClient>}
 */
export async function openJsonClient(t, url, options = {}) {
  const c = newJsonClient(t, url, options);
  await c.client.start();
  const connected = await c.events.take((e) => e.type === "connected", "the connected event");
  return { ...c, connectionId: connected.connectionId, userId: connected.userId };
}

/** Takes the next group message of group from a JSON client's inbox. */
export function groupMessage(c, group, match = () => true) {
  return c.events.take(
    (e) => e.type === "group-message" && e.group === group && match(e),
    `a message to group ${group}`,
  );
}

/** Takes the next server message that matches from a JSON client's inbox. */
export function serverMessage(c, match = () => true, what = "a server message") {
  return c.events.take((e) => e.type === "server-message" && match(e), what);
}

/**
 * A simple WebSocket client: frames arrive in `frames` as {text} or {binary: Buffer}; `closed`
 * resolves with the close code and reason.
 * @typedef {object} RawClient
 * @property {WebSocket} ws
 * @property {Inbox} frames
 * @property {Promise<{code: number, reason: string}>} closed
 */

/**
 * Opens a plain WebSocket to url (no subprotocol unless given); the test closes it at its end.
 * @returns {Promise<RawClient>}
 */
export async function openRawClient(t, url, protocols = []) {
  const ws = new WebSocket(url, protocols);
  const frames = new Inbox(`raw client ${t.name}`);
  ws.on("message", (data, isBinary) => frames.push(isBinary ? { binary: Buffer.from(data) } : { text: data.toString() }));
  const closed = new Promise((res) => ws.once("close", (code, reason) => res({ code, reason: reason.toString() })));
  t.after(() => ws.terminate());
  await new Promise((res, rej) => {
    ws.once("open", res);
    ws.once("unexpected-response", (req, resp) => {
      req.destroy();
      rej(new Error(`upgrade answered HTTP ${resp.statusCode}`));
    });
    // Errors after the upgrade (e.g. the server closing with 1009) show in `closed`; without a
    // listener, ws would throw them.
    ws.on("error", rej);
  });
  return { ws, frames, closed };
}

/**
 * Attempts a WebSocket upgrade and returns the HTTP status kwps answered with (101 when it upgraded)
 * and the response body of a refusal.
 * @returns {Promise<{status: number, body: string}>}
 */
export function upgradeStatus(url, protocols = []) {
  return new Promise((res, rej) => {
    const ws = new WebSocket(url, protocols);
    const timer = setTimeout(() => {
      ws.terminate();
      rej(new Error(`no answer to the upgrade of ${url} within ${arrivalTimeoutMs} ms`));
    }, arrivalTimeoutMs);
    ws.once("open", () => {
      clearTimeout(timer);
      ws.terminate();
      res({ status: 101, body: "" });
    });
    ws.once("unexpected-response", (req, resp) => {
      clearTimeout(timer);
      let body = "";
      resp.setEncoding("utf8");
      resp.on("data", (d) => (body += d));
      resp.on("end", () => {
        req.destroy();
        res({ status: resp.statusCode, body });
      });
    });
    ws.once("error", (err) => {
      clearTimeout(timer);
      rej(err);
    });
  });
}

/** The bytes of a binary payload the JSON client delivers (an ArrayBuffer) as a plain array. */
export function bytesOf(data) {
  return [...new Uint8Array(data)];
}

/**
 * Asserts that a client operation fails as @azure/web-pubsub-client reports a negative ack: a
 * SendMessageError whose errorDetail names the ack error (Forbidden, InternalServerError, ...).
 */
export async function rejectsWithAck(operation, ackErrorName) {
  let err;
  try {
    await operation;
  } catch (e) {
    err = e;
  }
  if (err === undefined) {
    throw new Error(`the operation succeeded; want a SendMessageError with ack error ${ackErrorName}`);
  }
  if (err.name !== "SendMessageError" || err.errorDetail?.name !== ackErrorName) {
    throw new Error(
      `want a SendMessageError with ack error ${ackErrorName}, got ${err.name}: ${err.message} ` +
        `(errorDetail ${JSON.stringify(err.errorDetail)})`,
    );
  }
  return err;
}

let barriers = 0;

/**
 * Returns, for each JSON client, the data messages it received since the last call, in order, as
 * {from: "group", group, fromUserId, dataType, data} or {from: "server", dataType, data} (binary data as
 * a byte array). It first sends a barrier message to the whole hub through service and waits for it at
 * every client: kwps delivers a connection's messages in order, so whatever was sent before the barrier
 * and is not in the list was not delivered.
 * @param {import("@azure/web-pubsub").WebPubSubServiceClient} service
 * @param {JsonClient[]} clients
 */
export async function receivedSince(service, ...clients) {
  const id = `barrier-${++barriers}`;
  await service.sendToAll({ barrier: id });
  return Promise.all(
    clients.map(async (c) => {
      await serverMessage(c, (m) => m.data?.barrier === id, `barrier ${id}`);
      return c.events.drain((e) => e.type === "group-message" || e.type === "server-message").map(summary);
    }),
  );
}

/** The parts of a received data message a test compares. */
export function summary(m) {
  const data = m.dataType === "binary" ? bytesOf(m.data) : m.data;
  if (m.type === "group-message") {
    return { from: "group", group: m.group, fromUserId: m.fromUserId ?? null, dataType: m.dataType, data };
  }
  return { from: "server", dataType: m.dataType, data };
}
