// A real upstream built with @azure/web-pubsub-express (WebPubSubEventHandler behind express) that kwps
// calls: abuse protection, connect (userId, groups, roles, rejection), user events for JSON and simple
// clients, connection state, disconnected, failing handlers, and a hub whose handler fails validation.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { WebPubSubEventHandler } from "@azure/web-pubsub-express";
import express from "express";

import {
  groupMessage,
  newJsonClient,
  openJsonClient,
  openRawClient,
  rejectsWithAck,
  serverMessage,
  upgradeStatus,
} from "./lib/clients.mjs";
import { recordPreflights, serveExpress } from "./lib/express.mjs";
import { Inbox } from "./lib/inbox.mjs";
import { freePort, startKwps } from "./lib/kwps.mjs";
import { hubManifest } from "./lib/manifest.mjs";

// What kwps sent: abuse-protection requests, and the events each handler was given.
const preflights = new Inbox("abuse-protection requests");
const calls = new Inbox("hub chat's event handler");
const guardedCalls = new Inbox("hub guarded's event handler");

/** The app's event handler for hub "chat", driven by the client URL's query: ?user=, ?reject=. */
function chatHandler(kwpsEndpoint) {
  return new WebPubSubEventHandler("chat", {
    path: "/eventhandler/",
    // Only kwps may use this handler: its abuse-protection answer names kwps's origin, not *.
    allowedEndpoints: [kwpsEndpoint],
    handleConnect(req, res) {
      const query = (name) => req.queries?.[name]?.[0];
      calls.push({ kind: "connect", connectionId: req.context.connectionId, user: query("user"), request: req });
      if (query("reject")) {
        res.fail(401, "rejected by the event handler");
        return;
      }
      const user = query("user");
      if (!user) {
        res.success();
        return;
      }
      res.setState("connectedAs", user);
      res.success({
        userId: user,
        groups: ["lobby", `team-${user}`],
        roles: ["webpubsub.sendToGroup.lobby", "webpubsub.joinLeaveGroup.lobby"],
      });
    },
    handleUserEvent(req, res) {
      const { eventName, connectionId, userId, states } = req.context;
      // A copy: res.setState changes states in place.
      const seen = structuredClone(states);
      calls.push({ kind: "user", event: eventName, connectionId, userId, dataType: req.dataType, data: req.data, states: seen });
      switch (eventName) {
        case "echo":
          res.success(req.dataType === "json" ? JSON.stringify(req.data) : req.data, req.dataType);
          return;
        case "count": {
          const count = (states.count ?? 0) + 1;
          res.setState("count", count);
          res.success(JSON.stringify({ count, connectedAs: states.connectedAs }), "json");
          return;
        }
        case "fail":
          res.fail(500, "the handler failed");
          return;
        case "message": // simple clients' frames
          if (req.data === "fail") {
            res.fail(500);
          } else if (req.dataType === "binary") {
            res.success(req.data, "binary");
          } else {
            res.success(`echo: ${req.data}`, "text");
          }
          return;
        default:
          res.success();
      }
    },
    onConnected(req) {
      calls.push({ kind: "connected", connectionId: req.context.connectionId, userId: req.context.userId });
    },
    onDisconnected(req) {
      calls.push({ kind: "disconnected", connectionId: req.context.connectionId, reason: req.reason, states: req.context.states });
    },
  });
}

/** An event handler whose abuse-protection answer allows another service only. */
function guardedHandler() {
  const record = (kind) => (req, res) => {
    guardedCalls.push({ kind, connectionId: req.context.connectionId });
    res?.success();
  };
  return new WebPubSubEventHandler("guarded", {
    path: "/guarded/",
    allowedEndpoints: ["https://another-service.example.com"],
    handleConnect: record("connect"),
    handleUserEvent: record("user"),
    onConnected: record("connected"),
    onDisconnected: record("disconnected"),
  });
}

let kwps;
let upstream;
before(async () => {
  // The handler must know kwps's endpoint before kwps starts (kwps validates it before it is ready).
  const port = await freePort();
  const kwpsEndpoint = `http://127.0.0.1:${port}`;
  const app = express();
  app.use(recordPreflights(preflights));
  app.use(chatHandler(kwpsEndpoint).getMiddleware());
  app.use(guardedHandler().getMiddleware());
  upstream = await serveExpress(app);
  const events = { userEventPattern: "*", systemEvents: ["connect", "connected", "disconnected"] };
  kwps = await startKwps({
    port,
    manifests: [
      hubManifest("chat", { eventHandlers: [{ urlTemplate: `${upstream.url}/eventhandler/{event}`, ...events }] }),
      hubManifest("guarded", { eventHandlers: [{ urlTemplate: `${upstream.url}/guarded/{event}`, ...events }] }),
    ],
  });
  assert.equal(kwps.endpoint, kwpsEndpoint);
});
after(async () => {
  await kwps?.stop();
  await upstream?.close();
});

/** A client access URL for hub with a token that names no user, plus query parameters for the handler. */
async function clientUrl(hub, query = {}) {
  const { url } = await kwps.serviceClient(hub).getClientAccessToken();
  return `${url}&${new URLSearchParams(query)}`;
}

const callOf = (kind, connectionId) => (c) => c.kind === kind && c.connectionId === connectionId;

test("abuse protection: kwps asks with its origin, the handler allows it, and clients connect", async (t) => {
  const check = await preflights.take((p) => p.path === "/eventhandler/validate", "the OPTIONS request for hub chat");
  assert.equal(check.origin, new URL(kwps.endpoint).host);
  assert.equal(check.awpsVersion, "1.0");
  const c = await openJsonClient(t, await clientUrl("chat", { user: "ann" }));
  const connected = await calls.take(callOf("connected", c.connectionId), "onConnected");
  assert.equal(connected.userId, "ann");
});

test("handleConnect sets the userId, the groups and the roles of the connection", async (t) => {
  const service = kwps.serviceClient("chat");
  const dave = await openJsonClient(t, await clientUrl("chat", { user: "dave" }));
  assert.equal(dave.userId, "dave");
  const { request } = await calls.take(callOf("connect", dave.connectionId), "handleConnect");
  assert.deepEqual(request.queries.user, ["dave"]);
  assert.ok(request.subprotocols.includes("json.webpubsub.azure.v1"), `subprotocols ${request.subprotocols}`);
  assert.ok(Array.isArray(request.claims.aud), "claims are string arrays");

  // groups: both groups the handler named deliver to the connection.
  await service.group("lobby").sendToAll({ to: "lobby" });
  await service.group("team-dave").sendToAll({ to: "team" });
  assert.deepEqual((await groupMessage(dave, "lobby")).data, { to: "lobby" });
  assert.deepEqual((await groupMessage(dave, "team-dave")).data, { to: "team" });

  // roles: sending and joining "lobby" is allowed, nothing else.
  await dave.client.sendToGroup("lobby", "hi lobby", "text");
  assert.equal((await groupMessage(dave, "lobby")).fromUserId, "dave");
  await dave.client.leaveGroup("lobby");
  await dave.client.joinGroup("lobby");
  await rejectsWithAck(dave.client.sendToGroup("team-dave", "no", "text"), "Forbidden");
  await rejectsWithAck(dave.client.joinGroup("elsewhere"), "Forbidden");

  // The same for a simple client: it receives what goes to its groups.
  const raw = await openRawClient(t, await clientUrl("chat", { user: "raw-dave" }));
  await calls.take((c) => c.kind === "connected" && c.userId === "raw-dave", "onConnected of the simple client");
  await service.group("team-raw-dave").sendToAll("to raw", { contentType: "text/plain" });
  assert.deepEqual(await raw.frames.take(), { text: "to raw" });
});

test("handleConnect failing with 401 refuses the client: start() fails and no connected event follows", async (t) => {
  const url = await clientUrl("chat", { reject: "1", user: "mallory" });
  const c = newJsonClient(t, url);
  await assert.rejects(c.client.start());
  const refused = await calls.take((x) => x.kind === "connect" && x.user === "mallory", "handleConnect");
  const got = await upgradeStatus(url);
  assert.equal(got.status, 401, `upgrade answered ${got.status} ${got.body}`);
  await calls.take((x) => x.kind === "connect" && x.user === "mallory", "handleConnect of the second attempt");
  await calls.none((x) => x.connectionId === refused.connectionId, "an event for the refused connection");
  assert.equal(await kwps.serviceClient("chat").userExists("mallory"), false);
});

test("user events from the JSON client: the handler gets the data, and its reply arrives before the ack", async (t) => {
  const erin = await openJsonClient(t, await clientUrl("chat", { user: "erin" }));
  const cases = [
    { dataType: "json", sent: { a: [1, "two"] }, handlerGets: { a: [1, "two"] }, clientGets: { a: [1, "two"] } },
    { dataType: "text", sent: "hello", handlerGets: "hello", clientGets: "hello" },
    { dataType: "binary", sent: new Uint8Array([1, 2, 250]).buffer, handlerGets: Buffer.from([1, 2, 250]), clientGets: [1, 2, 250] },
  ];
  for (const tc of cases) {
    const result = await erin.client.sendEvent("echo", tc.sent, tc.dataType);
    assert.equal(result.isDuplicated, false);
    // The reply was delivered before the ack resolved the call: it is already in the inbox.
    const reply = erin.events.pending.find((e) => e.type === "server-message");
    assert.ok(reply, `${tc.dataType}: no server message before the ack`);
    await serverMessage(erin);
    assert.equal(reply.dataType, tc.dataType);
    assert.deepEqual(tc.dataType === "binary" ? [...new Uint8Array(reply.data)] : reply.data, tc.clientGets);
    const call = await calls.take(callOf("user", erin.connectionId), `handleUserEvent (${tc.dataType})`);
    assert.equal(call.event, "echo");
    assert.equal(call.userId, "erin");
    assert.equal(call.dataType, tc.dataType);
    assert.deepEqual(call.data, tc.handlerGets);
  }

  // The SDK handles frames that arrive together in one go, before the ack's promise continuation runs,
  // so the order is checked on the wire too: the reply frame precedes the ack frame.
  const wire = await openRawClient(t, await clientUrl("chat", { user: "erin-wire" }), ["json.webpubsub.azure.v1"]);
  assert.equal(wire.ws.protocol, "json.webpubsub.azure.v1");
  assert.equal(JSON.parse((await wire.frames.take()).text).event, "connected");
  wire.ws.send(JSON.stringify({ type: "event", event: "echo", ackId: 7, dataType: "text", data: "wire" }));
  const first = JSON.parse((await wire.frames.take()).text);
  const second = JSON.parse((await wire.frames.take()).text);
  assert.deepEqual(first, { type: "message", from: "server", dataType: "text", data: "wire" });
  assert.deepEqual(second, { type: "ack", ackId: 7, success: true });
});

test("a simple client's frames reach handleUserEvent as `message`, and the replies come back as frames", async (t) => {
  const raw = await openRawClient(t, await clientUrl("chat", { user: "frank" }));
  const { connectionId } = await calls.take((c) => c.kind === "connected" && c.userId === "frank", "onConnected");
  raw.ws.send("hi there");
  const text = await calls.take(callOf("user", connectionId), "handleUserEvent for the text frame");
  assert.deepEqual([text.event, text.dataType, text.data], ["message", "text", "hi there"]);
  assert.deepEqual(await raw.frames.take(), { text: "echo: hi there" });

  raw.ws.send(Buffer.from([3, 1, 4]));
  const bin = await calls.take(callOf("user", connectionId), "handleUserEvent for the binary frame");
  assert.deepEqual([bin.event, bin.dataType, bin.data], ["message", "binary", Buffer.from([3, 1, 4])]);
  assert.deepEqual(await raw.frames.take(), { binary: Buffer.from([3, 1, 4]) });
});

test("connection state set with res.setState in connect and user events reaches later events", async (t) => {
  const sam = await openJsonClient(t, await clientUrl("chat", { user: "sam" }));
  await sam.client.sendEvent("count", {}, "json");
  assert.deepEqual((await serverMessage(sam)).data, { count: 1, connectedAs: "sam" });
  await sam.client.sendEvent("count", "tick", "text");
  assert.deepEqual((await serverMessage(sam)).data, { count: 2, connectedAs: "sam" });
  const first = await calls.take(callOf("user", sam.connectionId), "the first count event");
  assert.deepEqual(first.states, { connectedAs: "sam" });
  sam.client.stop();
  const gone = await calls.take(callOf("disconnected", sam.connectionId), "onDisconnected");
  assert.deepEqual(gone.states, { connectedAs: "sam", count: 2 });
});

test("onDisconnected arrives with a reason when the client stops and when REST closes the connection", async (t) => {
  const [quitter, kicked] = await Promise.all([
    openJsonClient(t, await clientUrl("chat", { user: "quitter" })),
    openJsonClient(t, await clientUrl("chat", { user: "kicked" })),
  ]);
  quitter.client.stop();
  const quit = await calls.take(callOf("disconnected", quitter.connectionId), "onDisconnected after stop()");
  assert.equal(typeof quit.reason, "string");
  assert.match(quit.reason, /\S/, "the disconnected event says why");

  await kwps.serviceClient("chat").closeConnection(kicked.connectionId, { reason: "kicked by the app" });
  const closed = await calls.take(callOf("disconnected", kicked.connectionId), "onDisconnected after closeConnection");
  assert.equal(closed.reason, "kicked by the app");
});

test("res.fail(500): the JSON client gets an InternalServerError ack and stays; a simple client is dropped", async (t) => {
  const json = await openJsonClient(t, await clientUrl("chat", { user: "grace" }));
  await rejectsWithAck(json.client.sendEvent("fail", "x", "text"), "InternalServerError");
  await json.client.sendEvent("echo", "still here", "text");
  assert.equal((await serverMessage(json)).data, "still here");
  await calls.none(callOf("disconnected", json.connectionId), "onDisconnected of the JSON client");

  const raw = await openRawClient(t, await clientUrl("chat", { user: "heidi" }));
  const { connectionId } = await calls.take((c) => c.kind === "connected" && c.userId === "heidi", "onConnected");
  raw.ws.send("fail");
  const closed = await raw.closed;
  assert.notEqual(closed.code, 1005, "the server closed with a status");
  await calls.take(callOf("disconnected", connectionId), "onDisconnected of the dropped simple client");
});

test("a hub whose handler fails abuse protection refuses clients, and its handler gets no events", async (t) => {
  const check = await preflights.take((p) => p.path === "/guarded/validate", "the OPTIONS request for hub guarded");
  assert.equal(check.origin, new URL(kwps.endpoint).host);
  const url = await clientUrl("guarded", { user: "ivan" });
  const got = await upgradeStatus(url);
  assert.equal(got.status, 503, `upgrade answered ${got.status} ${got.body}`);
  const c = newJsonClient(t, url);
  await assert.rejects(c.client.start());
  const raw = await upgradeStatus(await clientUrl("guarded"));
  assert.equal(raw.status, 503);
  // REST still works for the hub (DESIGN.md decision 13).
  await kwps.serviceClient("guarded").sendToAll({ n: 1 });
  assert.equal(await kwps.serviceClient("guarded").userExists("ivan"), false);
  await guardedCalls.none(() => true, "an event");
});
