// @azure/web-pubsub-client with WebPubSubJsonProtocol() (json.webpubsub.azure.v1) against kwps: start,
// groups, messages, acks and their errors, keepalive, and the server closing the connection.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";

import { WebPubSubJsonReliableProtocol } from "@azure/web-pubsub-client";

import {
  groupMessage,
  openJsonClient,
  receivedSince,
  rejectsWithAck,
  serverMessage,
} from "./lib/clients.mjs";
import { eventually } from "./lib/inbox.mjs";
import { startKwps } from "./lib/kwps.mjs";

let kwps;
before(async () => {
  kwps = await startKwps();
});
after(() => kwps?.stop());

let hubs = 0;
const newHub = () => `client${++hubs}`;

async function connect(t, service, tokenOptions = {}, clientOptions = {}) {
  const { url } = await service.getClientAccessToken(tokenOptions);
  return openJsonClient(t, url, clientOptions);
}

const sendAndJoin = ["webpubsub.joinLeaveGroup", "webpubsub.sendToGroup"];
const fromGroup = (fromUserId, dataType, data) => ({ from: "group", group: "chat", fromUserId, dataType, data });

test("start: the connected event carries the connectionId and the userId (null when anonymous)", async (t) => {
  const service = kwps.serviceClient(newHub());
  // The documented credential form: a function that fetches a fresh client access URL.
  const named = await openJsonClient(t, {
    getClientAccessUrl: async () => (await service.getClientAccessToken({ userId: "alice" })).url,
  });
  const anonymous = await connect(t, service);
  assert.equal(named.userId, "alice");
  assert.equal(anonymous.userId ?? null, null);
  for (const c of [named, anonymous]) {
    assert.equal(typeof c.connectionId, "string");
    assert.notEqual(c.connectionId, "");
    assert.equal(await service.connectionExists(c.connectionId), true);
  }
  assert.notEqual(named.connectionId, anonymous.connectionId);
});

test("joinGroup and sendToGroup: text, json and binary reach the group; noEcho keeps them from the sender", async (t) => {
  const service = kwps.serviceClient(newHub());
  const [sender, receiver, outsider] = await Promise.all([
    connect(t, service, { userId: "sender", roles: sendAndJoin }),
    connect(t, service, { userId: "receiver", roles: ["webpubsub.joinLeaveGroup"] }),
    connect(t, service, { userId: "outsider", roles: sendAndJoin }),
  ]);
  assert.equal((await sender.client.joinGroup("chat")).isDuplicated, false);
  await receiver.client.joinGroup("chat");

  await sender.client.sendToGroup("chat", "hello", "text");
  await sender.client.sendToGroup("chat", { list: [1, 2], ok: true }, "json", { noEcho: false });
  await sender.client.sendToGroup("chat", new Uint8Array([0, 1, 254]).buffer, "binary");
  await sender.client.sendToGroup("chat", "quiet", "text", { noEcho: true });
  await service.group("chat").sendToAll({ from: "rest" });
  await service.sendToConnection(receiver.connectionId, "server text", { contentType: "text/plain" });

  const echoed = [
    fromGroup("sender", "text", "hello"),
    fromGroup("sender", "json", { list: [1, 2], ok: true }),
    fromGroup("sender", "binary", [0, 1, 254]),
  ];
  const rest = fromGroup(null, "json", { from: "rest" });
  assert.deepEqual(await receivedSince(service, sender, receiver, outsider), [
    [...echoed, rest],
    [...echoed, fromGroup("sender", "text", "quiet"), rest, { from: "server", dataType: "text", data: "server text" }],
    [],
  ]);

  // After leaveGroup nothing more arrives from the group.
  await receiver.client.leaveGroup("chat");
  await sender.client.sendToGroup("chat", "after leave", "text", { noEcho: true });
  assert.deepEqual(await receivedSince(service, receiver), [[]]);
});

test("sendEvent with no event handler: the ack fails with InternalServerError and the client stays connected", async (t) => {
  const service = kwps.serviceClient(newHub());
  const c = await connect(t, service, { userId: "e" });
  const err = await rejectsWithAck(c.client.sendEvent("anything", { x: 1 }, "json"), "InternalServerError");
  assert.equal(typeof err.ackId, "number");
  // Fire and forget: nothing to fail.
  await c.client.sendEvent("anything", "text", "text", { fireAndForget: true });
  assert.equal(await service.connectionExists(c.connectionId), true);
  await service.sendToConnection(c.connectionId, { still: "connected" });
  assert.deepEqual((await serverMessage(c)).data, { still: "connected" });
  assert.deepEqual(c.events.pending.filter((e) => e.type === "disconnected"), []);
});

test("without roles joinGroup and sendToGroup fail with the SDK's SendMessageError, ack error Forbidden", async (t) => {
  const service = kwps.serviceClient(newHub());
  const [c, member] = await Promise.all([
    connect(t, service, { userId: "nobody" }),
    connect(t, service, { userId: "member", groups: ["closed"] }),
  ]);
  const join = await rejectsWithAck(c.client.joinGroup("closed"), "Forbidden");
  assert.match(join.errorDetail.message ?? "", /\S/, "the ack error has a message");
  await rejectsWithAck(c.client.sendToGroup("closed", "let me in", "text"), "Forbidden");
  await rejectsWithAck(c.client.leaveGroup("closed"), "Forbidden");
  // A role for one group does not open another.
  const scoped = await connect(t, service, { roles: ["webpubsub.sendToGroup.open"] });
  await scoped.client.sendToGroup("open", "fine", "text");
  await rejectsWithAck(scoped.client.sendToGroup("closed", "not fine", "text"), "Forbidden");
  // The forbidden message reached no one, and the client is still connected.
  assert.deepEqual(await receivedSince(service, member, c), [[], []]);
});

test("a repeated ackId is answered as a duplicate and not executed again", async (t) => {
  const service = kwps.serviceClient(newHub());
  const [sender, receiver] = await Promise.all([
    connect(t, service, { userId: "sender", roles: ["webpubsub.sendToGroup"] }),
    connect(t, service, { userId: "receiver", groups: ["chat"] }),
  ]);
  const first = await sender.client.sendToGroup("chat", "once", "text", { ackId: 4242 });
  const again = await sender.client.sendToGroup("chat", "once", "text", { ackId: 4242 });
  assert.equal(first.isDuplicated, false);
  assert.equal(again.isDuplicated, true);
  assert.deepEqual(await receivedSince(service, receiver), [[fromGroup("sender", "text", "once")]]);
});

test("the server closing the connection: the client sees disconnected with the reason, then stopped", async (t) => {
  const service = kwps.serviceClient(newHub());
  const c = await connect(t, service, { userId: "leaving" });
  await service.closeConnection(c.connectionId, { reason: "see you" });
  const gone = await c.events.take((e) => e.type === "disconnected", "the disconnected event");
  assert.equal(gone.connectionId, c.connectionId);
  assert.equal(gone.message?.message, "see you");
  await c.events.take((e) => e.type === "stopped", "the stopped event (autoReconnect is off)");
  await eventually(async () => !(await service.connectionExists(c.connectionId)), "the connection is gone");
});

test("keepalive: kwps answers the client's pings, so an idle client stays connected", async (t) => {
  const service = kwps.serviceClient(newHub());
  // The client closes the connection when nothing arrives for keepAliveTimeoutInMs; only pongs can
  // arrive while it is idle.
  const c = await connect(t, service, { userId: "idle" }, { keepAliveIntervalInMs: 250, keepAliveTimeoutInMs: 1_500 });
  await sleep(3_000);
  assert.deepEqual(c.events.pending.filter((e) => e.type === "disconnected" || e.type === "stopped"), []);
  assert.equal(await service.connectionExists(c.connectionId), true);
});

test("the SDK's default protocol (json.reliable.webpubsub.azure.v1) connects and exchanges messages", async (t) => {
  const service = kwps.serviceClient(newHub());
  const c = await connect(t, service, { userId: "reliable", roles: sendAndJoin }, { protocol: WebPubSubJsonReliableProtocol() });
  assert.equal(c.userId, "reliable");
  await c.client.joinGroup("chat");
  await c.client.sendToGroup("chat", "reliable hello", "text");
  const m = await groupMessage(c, "chat");
  assert.equal(m.data, "reliable hello");
  assert.equal(typeof m.sequenceId, "number", "reliable messages carry a sequenceId");
  await service.sendToConnection(c.connectionId, { n: 1 });
  const s = await serverMessage(c);
  assert.deepEqual(s.data, { n: 1 });
  assert.ok(s.sequenceId > m.sequenceId, `sequenceIds increase: ${m.sequenceId} then ${s.sequenceId}`);
});
