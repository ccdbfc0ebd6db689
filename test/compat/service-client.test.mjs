// @azure/web-pubsub (the server SDK) against kwps: every REST operation WebPubSubServiceClient exposes,
// checked by what connected @azure/web-pubsub-client clients see, not only by status codes.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { AzureKeyCredential, WebPubSubServiceClient, odata } from "@azure/web-pubsub";

import {
  groupMessage,
  newJsonClient,
  openJsonClient,
  receivedSince,
  rejectsWithAck,
  serverMessage,
  upgradeStatus,
} from "./lib/clients.mjs";
import { eventually } from "./lib/inbox.mjs";
import { startKwps } from "./lib/kwps.mjs";

let kwps;
before(async () => {
  kwps = await startKwps();
});
after(() => kwps?.stop());

// Any hub works without configuration; each test uses its own so that tests cannot see each other.
let hubs = 0;
const newHub = () => `rest${++hubs}`;

/** Connects a JSON client with a token from service.getClientAccessToken(tokenOptions). */
async function connect(t, service, tokenOptions = {}) {
  const { url } = await service.getClientAccessToken(tokenOptions);
  return openJsonClient(t, url);
}

const json = (data) => ({ from: "server", dataType: "json", data });
const toGroup = (group, data, dataType = "json") => ({ from: "group", group, fromUserId: null, dataType, data });

test("getClientAccessToken: its URL connects, and kwps honours userId, groups, roles and expiry", async (t) => {
  const hub = newHub();
  const service = kwps.serviceClient(hub);
  const token = await service.getClientAccessToken({
    userId: "alice",
    groups: ["lobby"],
    roles: ["webpubsub.joinLeaveGroup.room", "webpubsub.sendToGroup.room"],
    expirationTimeInMinutes: 5,
  });
  assert.ok(
    token.url.startsWith(`${kwps.endpoint.replace(/^http/, "ws")}/client/hubs/${hub}?access_token=`),
    `unexpected client URL ${token.baseUrl}`,
  );
  const alice = await openJsonClient(t, token.url);
  assert.equal(alice.userId, "alice");
  assert.match(alice.connectionId, /\S/);

  // groups: the connection is in "lobby" from the start.
  await service.group("lobby").sendToAll({ hello: "lobby" });
  assert.deepEqual((await groupMessage(alice, "lobby")).data, { hello: "lobby" });

  // roles: join and send to "room" only.
  await alice.client.joinGroup("room");
  await alice.client.sendToGroup("room", "hi", "text");
  const echo = await groupMessage(alice, "room");
  assert.equal(echo.data, "hi");
  assert.equal(echo.fromUserId, "alice");
  await rejectsWithAck(alice.client.joinGroup("hall"), "Forbidden");
  await rejectsWithAck(alice.client.sendToGroup("hall", "hi", "text"), "Forbidden");

  // expirationTimeInMinutes: an expired token (beyond any clock skew) is refused.
  const expired = await service.getClientAccessToken({ userId: "alice", expirationTimeInMinutes: -10 });
  assert.equal((await upgradeStatus(expired.url)).status, 401);
  const late = newJsonClient(t, expired.url);
  await assert.rejects(late.client.start());
  // A token for another hub does not open this one.
  const other = await kwps.serviceClient(newHub()).getClientAccessToken({ userId: "alice" });
  assert.equal((await upgradeStatus(other.url.replace(/\/client\/hubs\/[^?]+/, `/client/hubs/${hub}`))).status, 401);
});

test("sendToAll: json, text and binary reach every connection; filter, excludedConnections and messageTtlSeconds apply", async (t) => {
  const service = kwps.serviceClient(newHub());
  const [a, b, c] = await Promise.all([
    connect(t, service, { userId: "alice" }),
    connect(t, service, { userId: "bob" }),
    connect(t, service),
  ]);
  await service.sendToAll({ n: 1, nested: { ok: true } });
  await service.sendToAll("plain text", { contentType: "text/plain" });
  await service.sendToAll(new Uint8Array([1, 2, 3, 255]));
  await service.sendToAll("a JSON string");
  const everyone = [
    json({ n: 1, nested: { ok: true } }),
    { from: "server", dataType: "text", data: "plain text" },
    { from: "server", dataType: "binary", data: [1, 2, 3, 255] },
    json("a JSON string"),
  ];
  assert.deepEqual(await receivedSince(service, a, b, c), [everyone, everyone, everyone]);

  await service.sendToAll({ n: "filtered" }, { filter: odata`userId eq ${"alice"}` });
  await service.sendToAll({ n: "excluded" }, { excludedConnections: [a.connectionId, c.connectionId] });
  await service.sendToAll({ n: "ttl" }, { messageTtlSeconds: 60 });
  assert.deepEqual(await receivedSince(service, a, b, c), [
    [json({ n: "filtered" }), json({ n: "ttl" })],
    [json({ n: "excluded" }), json({ n: "ttl" })],
    [json({ n: "ttl" })],
  ]);
});

test("sendToUser reaches every connection of the user, and honours filter and messageTtlSeconds", async (t) => {
  const service = kwps.serviceClient(newHub());
  const [a1, a2, b] = await Promise.all([
    connect(t, service, { userId: "alice" }),
    connect(t, service, { userId: "alice" }),
    connect(t, service, { userId: "bob" }),
  ]);
  await service.sendToUser("alice", "for alice", { contentType: "text/plain" });
  await service.sendToUser("alice", { n: "filtered" }, { filter: odata`connectionId ne ${a2.connectionId}` });
  await service.sendToUser("bob", new Uint8Array([7]), { messageTtlSeconds: 30 });
  await service.sendToUser("nobody", { n: "lost" });
  const text = { from: "server", dataType: "text", data: "for alice" };
  assert.deepEqual(await receivedSince(service, a1, a2, b), [
    [text, json({ n: "filtered" })],
    [text],
    [{ from: "server", dataType: "binary", data: [7] }],
  ]);
});

test("sendToConnection reaches only that connection", async (t) => {
  const service = kwps.serviceClient(newHub());
  const [a, b] = await Promise.all([connect(t, service, { userId: "alice" }), connect(t, service, { userId: "alice" })]);
  await service.sendToConnection(a.connectionId, { to: "a" });
  await service.sendToConnection(b.connectionId, "text for b", { contentType: "text/plain", messageTtlSeconds: 10 });
  await service.sendToConnection("no-such-connection", { to: "nobody" });
  assert.deepEqual(await receivedSince(service, a, b), [
    [json({ to: "a" })],
    [{ from: "server", dataType: "text", data: "text for b" }],
  ]);
});

test("group: addConnection, addUser, sendToAll (excludedConnections, filter), removeConnection, removeUser", async (t) => {
  const service = kwps.serviceClient(newHub());
  const team = service.group("team");
  const [a1, a2, b, outsider] = await Promise.all([
    connect(t, service, { userId: "alice" }),
    connect(t, service, { userId: "alice" }),
    connect(t, service, { userId: "bob" }),
    connect(t, service, { userId: "carol" }),
  ]);
  assert.equal(await service.groupExists("team"), false);
  await team.addConnection(b.connectionId);
  await team.addUser("alice");
  assert.equal(await service.groupExists("team"), true);

  await team.sendToAll("to team", { contentType: "text/plain" });
  await team.sendToAll({ n: "not a1" }, { excludedConnections: [a1.connectionId] });
  await team.sendToAll({ n: "only bob" }, { filter: odata`userId eq ${"bob"}` });
  await team.sendToAll(new Uint8Array([9, 8]), { messageTtlSeconds: 5 });
  const text = toGroup("team", "to team", "text");
  const bin = toGroup("team", [9, 8], "binary");
  assert.deepEqual(await receivedSince(service, a1, a2, b, outsider), [
    [text, bin],
    [text, toGroup("team", { n: "not a1" }), bin],
    [text, toGroup("team", { n: "not a1" }), toGroup("team", { n: "only bob" }), bin],
    [],
  ]);

  await team.removeConnection(b.connectionId);
  await team.removeUser("alice");
  await team.sendToAll({ n: "after removal" });
  assert.deepEqual(await receivedSince(service, a1, a2, b), [[], [], []]);
  assert.equal(await service.groupExists("team"), false);

  // The SDK reports a connection that does not exist as an error (kwps answers 404).
  await assert.rejects(team.addConnection("no-such-connection"), (err) => err.statusCode === 404);
});

test("group.listConnections: every member with its userId, pages of maxPageSize, at most top", async (t) => {
  const service = kwps.serviceClient(newHub());
  const members = await Promise.all(
    ["u0", "u1", "u2", "u3", "u4"].map((userId) => connect(t, service, { userId, groups: ["big"] })),
  );
  await connect(t, service, { userId: "not-a-member" });
  const byId = (x, y) => (x.connectionId < y.connectionId ? -1 : 1);
  const want = members.map((m) => ({ connectionId: m.connectionId, userId: m.userId })).sort(byId);
  const plain = (m) => ({ connectionId: m.connectionId, userId: m.userId });

  const all = [];
  for await (const m of await service.group("big").listConnections()) all.push(plain(m));
  assert.deepEqual(all.sort(byId), want);

  const pages = [];
  for await (const page of (await service.group("big").listConnections({ maxPageSize: 2 })).byPage()) {
    pages.push(page.map(plain));
  }
  assert.deepEqual(pages.map((p) => p.length), [2, 2, 1]);
  assert.deepEqual(pages.flat().sort(byId), want);

  // top bounds the total over all pages, so the continuation must carry what is left of it.
  const topPages = [];
  for await (const page of (await service.group("big").listConnections({ top: 3, maxPageSize: 2 })).byPage()) {
    topPages.push(page.map(plain));
  }
  assert.deepEqual(topPages.map((p) => p.length), [2, 1], `top 3 listed ${JSON.stringify(topPages)}`);
  const top = topPages.flat();
  assert.equal(new Set(top.map((m) => m.connectionId)).size, 3);
  for (const m of top) assert.ok(want.some((w) => w.connectionId === m.connectionId));

  const none = [];
  for await (const m of await service.group("empty").listConnections()) none.push(m);
  assert.deepEqual(none, []);
});

test("userExists, groupExists and connectionExists follow connections as they come and go", async (t) => {
  const service = kwps.serviceClient(newHub());
  const state = async () => [
    await service.userExists("carol"),
    await service.groupExists("g"),
    await service.connectionExists(carol?.connectionId ?? "unknown"),
  ];
  let carol;
  assert.deepEqual(await state(), [false, false, false]);
  carol = await connect(t, service, { userId: "carol", groups: ["g"] });
  assert.deepEqual(await state(), [true, true, true]);
  carol.client.stop();
  await carol.events.take((e) => e.type === "stopped", "the stopped event");
  await eventually(async () => (await state()).every((x) => x === false), "user, group and connection are gone");
});

test("closeConnection: the client sees the disconnected event with the reason; others stay", async (t) => {
  const service = kwps.serviceClient(newHub());
  const [a, b] = await Promise.all([connect(t, service, { userId: "a" }), connect(t, service, { userId: "b" })]);
  await service.closeConnection(a.connectionId, { reason: "closed by the compat test" });
  const gone = await a.events.take((e) => e.type === "disconnected", "the disconnected event");
  assert.equal(gone.connectionId, a.connectionId);
  assert.equal(gone.message?.message, "closed by the compat test");
  await eventually(async () => !(await service.connectionExists(a.connectionId)), "the closed connection is gone");
  assert.equal(await service.connectionExists(b.connectionId), true);
  assert.deepEqual(await receivedSince(service, b), [[]]);
});

test("closeUserConnections closes every connection of that user with the reason", async (t) => {
  const service = kwps.serviceClient(newHub());
  const [a1, a2, b] = await Promise.all([
    connect(t, service, { userId: "alice" }),
    connect(t, service, { userId: "alice" }),
    connect(t, service, { userId: "bob" }),
  ]);
  await service.closeUserConnections("alice", { reason: "user signed out" });
  for (const c of [a1, a2]) {
    const gone = await c.events.take((e) => e.type === "disconnected", "the disconnected event");
    assert.equal(gone.message?.message, "user signed out");
  }
  await eventually(async () => !(await service.userExists("alice")), "alice is gone");
  assert.equal(await service.connectionExists(b.connectionId), true);
  assert.deepEqual(await receivedSince(service, b), [[]]);
});

test("closeAllConnections closes the hub's connections with the reason, and only that hub's", async (t) => {
  const service = kwps.serviceClient(newHub());
  const elsewhere = kwps.serviceClient(newHub());
  const [a, b, other] = await Promise.all([
    connect(t, service, { userId: "a" }),
    connect(t, service),
    connect(t, elsewhere, { userId: "a" }),
  ]);
  await service.closeAllConnections({ reason: "maintenance" });
  for (const c of [a, b]) {
    const gone = await c.events.take((e) => e.type === "disconnected", "the disconnected event");
    assert.equal(gone.message?.message, "maintenance");
  }
  assert.equal(await elsewhere.connectionExists(other.connectionId), true);
  assert.deepEqual(await receivedSince(elsewhere, other), [[]]);
});

test("group.closeAllConnections closes the group's members with the reason", async (t) => {
  const service = kwps.serviceClient(newHub());
  const [member, outsider] = await Promise.all([
    connect(t, service, { userId: "m", groups: ["doomed"] }),
    connect(t, service, { userId: "o", groups: ["safe"] }),
  ]);
  await service.group("doomed").closeAllConnections({ reason: "group closed" });
  const gone = await member.events.take((e) => e.type === "disconnected", "the disconnected event");
  assert.equal(gone.message?.message, "group closed");
  assert.equal(await service.connectionExists(outsider.connectionId), true);
  assert.deepEqual(await receivedSince(service, outsider), [[]]);
});

test("removeUserFromAllGroups and removeConnectionFromAllGroups leave the connections connected but in no group", async (t) => {
  const service = kwps.serviceClient(newHub());
  const [a1, a2, b, c] = await Promise.all([
    connect(t, service, { userId: "alice", groups: ["g1", "g2"] }),
    connect(t, service, { userId: "alice", groups: ["g1"] }),
    connect(t, service, { userId: "bob", groups: ["g1", "g2"] }),
    connect(t, service, { userId: "carol", groups: ["g2"] }),
  ]);
  await service.group("g1").sendToAll({ n: "before" });
  const before = [toGroup("g1", { n: "before" })];
  assert.deepEqual(await receivedSince(service, a1, a2, b, c), [before, before, before, []]);

  await service.removeUserFromAllGroups("alice");
  await service.removeConnectionFromAllGroups(b.connectionId);
  await service.group("g1").sendToAll({ n: "g1 after" });
  await service.group("g2").sendToAll({ n: "g2 after" });
  assert.deepEqual(await receivedSince(service, a1, a2, b, c), [[], [], [], [toGroup("g2", { n: "g2 after" })]]);
  assert.equal(await service.groupExists("g1"), false);
  assert.equal(await service.groupExists("g2"), true);
});

test("grantPermission, revokePermission and hasPermission, with and without targetName", async (t) => {
  const service = kwps.serviceClient(newHub());
  const c = await connect(t, service, { userId: "p" });
  const id = c.connectionId;
  const has = (permission, targetName) => service.hasPermission(id, permission, targetName ? { targetName } : {});

  assert.equal(await has("sendToGroup", "g"), false);
  assert.equal(await has("joinLeaveGroup", "room"), false);
  await rejectsWithAck(c.client.sendToGroup("g", "x", "text"), "Forbidden");
  await rejectsWithAck(c.client.joinGroup("room"), "Forbidden");

  // One group.
  await service.grantPermission(id, "sendToGroup", { targetName: "g" });
  await service.grantPermission(id, "joinLeaveGroup", { targetName: "room" });
  assert.equal(await has("sendToGroup", "g"), true);
  assert.equal(await has("sendToGroup", "h"), false);
  assert.equal(await has("joinLeaveGroup", "room"), true);
  await c.client.sendToGroup("g", "x", "text");
  await rejectsWithAck(c.client.sendToGroup("h", "x", "text"), "Forbidden");
  await c.client.joinGroup("room");
  await c.client.leaveGroup("room");
  await rejectsWithAck(c.client.joinGroup("hall"), "Forbidden");

  await service.revokePermission(id, "sendToGroup", { targetName: "g" });
  await service.revokePermission(id, "joinLeaveGroup", { targetName: "room" });
  assert.equal(await has("sendToGroup", "g"), false);
  assert.equal(await has("joinLeaveGroup", "room"), false);
  await rejectsWithAck(c.client.sendToGroup("g", "x", "text"), "Forbidden");
  await rejectsWithAck(c.client.joinGroup("room"), "Forbidden");

  // Without targetName: every group (DESIGN.md decision 8).
  await service.grantPermission(id, "sendToGroup");
  await service.grantPermission(id, "joinLeaveGroup");
  assert.equal(await has("sendToGroup"), true);
  assert.equal(await has("sendToGroup", "any"), true);
  assert.equal(await has("joinLeaveGroup", "any"), true);
  await c.client.joinGroup("any");
  await c.client.sendToGroup("any", "to any", "text");
  assert.equal((await groupMessage(c, "any")).data, "to any");

  await service.revokePermission(id, "sendToGroup");
  await service.revokePermission(id, "joinLeaveGroup");
  assert.equal(await has("sendToGroup"), false);
  assert.equal(await has("sendToGroup", "any"), false);
  await rejectsWithAck(c.client.sendToGroup("any", "x", "text"), "Forbidden");
  await rejectsWithAck(c.client.joinGroup("other"), "Forbidden");
});

test("addConnectionsToGroups and removeConnectionsFromGroups select connections with an OData filter", async (t) => {
  const service = kwps.serviceClient(newHub());
  const [alice, bob, obrien] = await Promise.all([
    connect(t, service, { userId: "alice" }),
    connect(t, service, { userId: "bob" }),
    connect(t, service, { userId: "o'brien" }),
  ]);
  // odata quotes and escapes the values: 'o''brien'.
  await service.addConnectionsToGroups(["ga", "gb"], odata`userId eq ${"alice"} or userId eq ${"o'brien"}`);
  await service.group("ga").sendToAll({ n: 1 });
  await service.group("gb").sendToAll({ n: 2 });
  const both = [toGroup("ga", { n: 1 }), toGroup("gb", { n: 2 })];
  assert.deepEqual(await receivedSince(service, alice, bob, obrien), [both, [], both]);

  await service.removeConnectionsFromGroups(["ga"], odata`userId eq ${"o'brien"}`);
  await service.removeConnectionsFromGroups(["gb"], "'ga' in groups");
  await service.group("ga").sendToAll({ n: 3 });
  await service.group("gb").sendToAll({ n: 4 });
  assert.deepEqual(await receivedSince(service, alice, bob, obrien), [
    [toGroup("ga", { n: 3 })],
    [],
    [toGroup("gb", { n: 4 })],
  ]);

  const members = [];
  for await (const m of await service.group("ga").listConnections()) members.push(m.userId);
  assert.deepEqual(members, ["alice"]);
});

test("an endpoint with AzureKeyCredential works, a wrong key is refused with 401, and hub names ignore case", async (t) => {
  const hub = newHub();
  const lower = kwps.serviceClient(hub);
  const c = await connect(t, lower, { userId: "k" });
  const opts = { allowInsecureConnection: true };
  const upper = new WebPubSubServiceClient(kwps.endpoint, new AzureKeyCredential(kwps.accessKey), hub.toUpperCase(), opts);
  await upper.sendToConnection(c.connectionId, { via: "upper-case hub" });
  assert.deepEqual((await serverMessage(c)).data, { via: "upper-case hub" });
  assert.equal(await upper.connectionExists(c.connectionId), true);

  const wrong = new WebPubSubServiceClient(kwps.endpoint, new AzureKeyCredential("not-the-key"), hub, opts);
  await assert.rejects(wrong.sendToAll({ n: "forged" }), (err) => err.statusCode === 401);
  await assert.rejects(wrong.closeAllConnections(), (err) => err.statusCode === 401);
  assert.deepEqual(await receivedSince(lower, c), [[]]);
});
