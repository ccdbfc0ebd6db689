// Simple WebSocket clients (plain `ws`, no subprotocol) against kwps: sendToGroup mode, the default
// sendEvent mode without a handler, refused upgrades, and the 1 MB frame limit.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { AzureKeyCredential, WebPubSubServiceClient } from "@azure/web-pubsub";

import { groupMessage, openJsonClient, openRawClient, upgradeStatus } from "./lib/clients.mjs";
import { eventually } from "./lib/inbox.mjs";
import { startKwps } from "./lib/kwps.mjs";

let kwps;
before(async () => {
  kwps = await startKwps();
});
after(() => kwps?.stop());

let hubs = 0;
const newHub = () => `raw${++hubs}`;

const tokenUrl = async (service, options = {}) => (await service.getClientAccessToken(options)).url;

test("sendToGroup mode: a simple client's frames reach JSON clients and simple clients in the group", async (t) => {
  const service = kwps.serviceClient(newHub());
  const json = await openJsonClient(t, await tokenUrl(service, { userId: "json", groups: ["g"] }));
  const listener = await openRawClient(t, await tokenUrl(service, { userId: "listener", groups: ["g"] }));
  const senderUrl = await tokenUrl(service, { userId: "raw-sender", roles: ["webpubsub.sendToGroup.g"] });
  const sender = await openRawClient(t, `${senderUrl}&webpubsub_mode=sendToGroup&group=g`);

  sender.ws.send("hello from raw");
  const text = await groupMessage(json, "g");
  assert.equal(text.dataType, "text");
  assert.equal(text.data, "hello from raw");
  assert.equal(text.fromUserId, "raw-sender");
  assert.deepEqual(await listener.frames.take(), { text: "hello from raw" });

  sender.ws.send(Buffer.from([1, 2, 3]));
  const bin = await groupMessage(json, "g");
  assert.equal(bin.dataType, "binary");
  assert.deepEqual([...new Uint8Array(bin.data)], [1, 2, 3]);
  assert.deepEqual(await listener.frames.take(), { binary: Buffer.from([1, 2, 3]) });

  // Simple clients get the payload only: JSON as a text frame, binary as a binary frame.
  await service.group("g").sendToAll({ rest: true });
  assert.deepEqual(JSON.parse((await listener.frames.take()).text), { rest: true });
  await service.sendToAll("plain", { contentType: "text/plain" });
  assert.deepEqual(await listener.frames.take(), { text: "plain" });
  await service.group("g").sendToAll(new Uint8Array([4, 5]));
  assert.deepEqual(await listener.frames.take(), { binary: Buffer.from([4, 5]) });
});

test("sendEvent mode (the default) with no event handler: the client's first frame drops the connection", async (t) => {
  const service = kwps.serviceClient(newHub());
  const { url } = await service.getClientAccessToken({ userId: "raw" });
  const c = await openRawClient(t, url);
  await eventually(() => service.userExists("raw"), "the simple client is connected");
  c.ws.send("anyone there?");
  const closed = await Promise.race([
    c.closed,
    new Promise((_, rej) => setTimeout(() => rej(new Error("the connection was not dropped within 5 s")), 5_000)),
  ]);
  assert.equal(typeof closed.code, "number");
  await eventually(async () => !(await service.userExists("raw")), "the dropped client left the hub");
});

test("401: no token, a token signed with another key, a token for another hub", async () => {
  const hub = newHub();
  const ws = kwps.endpoint.replace(/^http/, "ws");
  assert.equal((await upgradeStatus(`${ws}/client/hubs/${hub}`)).status, 401);
  assert.equal((await upgradeStatus(`${ws}/client/hubs/${hub}?access_token=not-a-jwt`)).status, 401);
  const forger = new WebPubSubServiceClient(kwps.endpoint, new AzureKeyCredential("another key"), hub, {
    allowInsecureConnection: true,
  });
  assert.equal((await upgradeStatus(await tokenUrl(forger, { userId: "x" }))).status, 401);
  const other = await kwps.serviceClient(`${hub}other`).getClientAccessToken();
  assert.equal((await upgradeStatus(`${ws}/client/hubs/${hub}?access_token=${other.token}`)).status, 401);
  // The same requests with a good token are accepted: the refusals above are about the token.
  const good = await kwps.serviceClient(hub).getClientAccessToken();
  assert.equal((await upgradeStatus(`${ws}/client/hubs/${hub}?access_token=${good.token}`)).status, 101);
});

test("400 for hub names Azure does not allow, even with a token for that name", async () => {
  const ws = kwps.endpoint.replace(/^http/, "ws");
  for (const bad of ["1starts-with-digit", "has-dash", "has space", "x".repeat(129)]) {
    // The SDK signs tokens for any name, so the token matches and only the name is wrong.
    const { token } = await kwps.serviceClient(bad).getClientAccessToken();
    const path = `/client/hubs/${encodeURIComponent(bad)}`;
    const got = await upgradeStatus(`${ws}${path}?access_token=${token}`);
    assert.equal(got.status, 400, `hub ${JSON.stringify(bad.slice(0, 20))}: ${got.status} ${got.body}`);
  }
  const { token } = await kwps.serviceClient("fine").getClientAccessToken();
  assert.equal((await upgradeStatus(`${ws}/client/?hub=&access_token=${token}`)).status, 400);
  assert.equal((await upgradeStatus(`${ws}/client/?hub=9lives&access_token=${token}`)).status, 400);
});

test("the /client/?hub= form accepts the SDK's token for /client/hubs/{hub}", async (t) => {
  const hub = newHub();
  const service = kwps.serviceClient(hub);
  const { token } = await service.getClientAccessToken({ userId: "query-form" });
  const ws = kwps.endpoint.replace(/^http/, "ws");
  const c = await openRawClient(t, `${ws}/client/?hub=${hub}&access_token=${token}`);
  await eventually(() => service.userExists("query-form"), "the client is in the hub");
  await service.sendToUser("query-form", "found you", { contentType: "text/plain" });
  assert.deepEqual(await c.frames.take(), { text: "found you" });
});

test("a frame of 1 MB passes; a frame over 1 MB closes the connection with 1009", async (t) => {
  const service = kwps.serviceClient(newHub());
  const receiver = await openRawClient(t, await tokenUrl(service, { groups: ["big"] }));
  const senderUrl = await tokenUrl(service, { roles: ["webpubsub.sendToGroup"] });
  const sender = await openRawClient(t, `${senderUrl}&webpubsub_mode=sendToGroup&group=big`);
  const oneMB = 1 << 20;
  sender.ws.send(Buffer.alloc(oneMB, 7));
  const got = await receiver.frames.take();
  assert.equal(got.binary?.length, oneMB);
  sender.ws.send(Buffer.alloc(oneMB + 1, 7));
  const closed = await sender.closed;
  assert.equal(closed.code, 1009, `close ${closed.code} ${closed.reason}`);
  await receiver.frames.none(() => true, "part of the oversized frame");
});
