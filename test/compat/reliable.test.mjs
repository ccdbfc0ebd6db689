// @azure/web-pubsub-client with its default protocol (json.reliable.webpubsub.azure.v1) through a TCP
// proxy that cuts the connection again and again while group and server messages stream in and the
// client sends acked messages: the client recovers its session each time (on the same process, or on
// another one of a Redis-backed service), receives every message exactly once and in order, and no acked
// send is executed twice (issue 8 #4).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";

import { WebPubSubClient } from "@azure/web-pubsub-client";

import { openJsonClient } from "./lib/clients.mjs";
import { Inbox, eventually } from "./lib/inbox.mjs";
import { startKwps } from "./lib/kwps.mjs";
import { startProxy } from "./lib/proxy.mjs";
import { startRedis } from "./lib/redis.mjs";

// The publishers' pace (each stream's) and how long the streams run; cuts are spaced so that the
// client has recovered (milliseconds; a move between processes takes a few Redis round trips) before
// the next one, and fewer than the SDK's 3 message retries (1 s apart) can fail in a row.
const publishEveryMs = 6;
const sendEveryMs = 10;
const streamMs = 4_600;
// How long a blackout loses what kwps sends before the cut: a few messages of every stream.
const blackoutMs = 100;
// Latency added between kwps and Redis: it widens the window in which messages reach both the process
// a session leaves and the one it moves to, which must still deliver each once.
const redisLatencyMs = 10;
// How long, after the streams stopped, the last messages may take: a recovery in progress, a retry
// waiting its second. Short enough that a broken kwps fails with the full report within node's 30 s.
const settleTimeoutMs = 5_000;

const streams = ["group", "user", "connection"];
const subscriber = "subscriber";
const feed = "feed"; // the group the subscriber listens to
const acked = "acked"; // the group its acked sends go to, where another client listens
// Explicit ackIds: the SDK retries a send with the ackId it was given, so the service can tell a
// retry from a new message (an ackId the SDK generates is new on every attempt).
const ackIdOf = (k) => 1_000_000 + k;
const blackoutAckIdOf = (i) => 2_000_000 + i;

let hubs = 0;
const newHub = () => `reliable${++hubs}`;

test("single process: repeated cuts lose nothing, duplicate nothing, and keep every stream in order", async (t) => {
  const kwps = await startKwps();
  deferLifo(t, () => kwps.stop());
  await runScenario(t, {
    first: kwps,
    listenerOn: kwps,
    publishers: { group: kwps, user: kwps, connection: kwps },
    cuts: [{ at: 600 }, { at: 1_400 }, { at: 2_200, blackout: true }, { at: 3_000 }, { at: 3_800 }],
  });
});

test("two processes over Redis: the session moves with the connection, still exactly once and in order", async (t) => {
  const redis = await startRedis();
  deferLifo(t, () => redis.stop());
  const redisHost = new URL(redis.url);
  const slowLink = await startProxy(
    { name: "redis", host: redisHost.hostname, port: Number(redisHost.port) },
    { latencyMs: redisLatencyMs },
  );
  deferLifo(t, () => slowLink.close());
  // One service: the same access key (recovery checks the reconnection token it signs) and one Redis.
  const accessKey = randomBytes(32).toString("base64");
  const [a, b] = await Promise.all(
    ["A", "B"].map(async (name) => ({ ...(await startKwps({ accessKey, redis: `redis://${slowLink.host}` })), name })),
  );
  deferLifo(t, () => Promise.all([a.stop(), b.stop()]));
  await runScenario(t, {
    first: a,
    // Every stream and the acked sends cross Redis at some point: the listener and two of the
    // publishers are on B while the session starts on A.
    listenerOn: b,
    publishers: { group: b, user: a, connection: b },
    cuts: [
      { at: 600 },
      { at: 1_400, to: b, blackout: true },
      { at: 2_200, to: a, blackout: true },
      { at: 3_000, to: b },
      { at: 3_800 },
    ],
  });
});

/**
 * Runs one scenario and asserts what the subscriber and the listener received.
 * @param {import("node:test").TestContext} t
 * @param {object} s
 * @param {import("./lib/kwps.mjs").Kwps & {name?: string}} s.first the process the client connects to
 *   first, through the proxy
 * @param {import("./lib/kwps.mjs").Kwps} s.listenerOn the process of the client that receives the acked
 *   sends (connected directly, never cut)
 * @param {Record<string, import("./lib/kwps.mjs").Kwps>} s.publishers the process each stream is
 *   published through (REST, directly)
 * @param {{at: number, to?: object, blackout?: boolean}[]} s.cuts when to cut (ms after the streams
 *   started), whether to send the recovery to another process first, and whether to lose what kwps
 *   sends (messages and the ack of an acked send) before the cut
 */
async function runScenario(t, { first, listenerOn, publishers, cuts }) {
  const hub = newHub();
  const service = first.serviceClient(hub);
  const proxy = await startProxy(targetOf(first));
  deferLifo(t, () => proxy.close());

  const listener = await openJsonClient(
    t,
    (await listenerOn.serviceClient(hub).getClientAccessToken({ userId: "listener", groups: [acked] })).url,
  );

  // The app's code, with the client access URL pointed at the proxy: default options, so the default
  // protocol, recovery, automatic reconnection and message retries.
  const { url } = await service.getClientAccessToken({
    userId: subscriber,
    roles: ["webpubsub.joinLeaveGroup", "webpubsub.sendToGroup"],
  });
  const proxied = new URL(url);
  proxied.host = proxy.host;
  const client = new WebPubSubClient(proxied.toString());
  const events = new Inbox("the subscriber");
  const lifecycle = [];
  client.on("connected", (e) => lifecycle.push({ type: "connected", connectionId: e.connectionId }));
  client.on("disconnected", (e) => lifecycle.push({ type: "disconnected", message: e.message }));
  client.on("stopped", () => lifecycle.push({ type: "stopped" }));
  client.on("group-message", (e) => events.push({ group: e.message.group, ...e.message.data }));
  client.on("server-message", (e) => events.push({ server: true, ...e.message.data }));
  // Stopped before the proxy closes: a close frame ends the session, where a reset would leave it
  // waiting for a recovery (and a draining kwps waiting for it).
  const stopped = new Promise((res) => client.on("stopped", res));
  deferLifo(t, () => {
    client.stop();
    return Promise.race([stopped, sleep(2_000)]);
  });
  await client.start();
  const connectionId = await waitFor(() => lifecycle.find((e) => e.type === "connected")?.connectionId, "the connected event");
  await client.joinGroup(feed);

  // Steady streams of numbered messages, one per kind of target, side by side, each published in order.
  const sent = { group: 0, user: 0, connection: 0 };
  const via = Object.fromEntries(streams.map((stream) => [stream, publishers[stream].serviceClient(hub)]));
  const publish = {
    group: (body) => via.group.group(feed).sendToAll(body),
    user: (body) => via.user.sendToUser(subscriber, body),
    connection: (body) => via.connection.sendToConnection(connectionId, body),
  };
  let streaming = true;
  const publishing = streams.map(async (stream) => {
    while (streaming) {
      await publish[stream]({ stream, n: ++sent[stream] });
      await sleep(publishEveryMs);
    }
  });
  // Acked sends, one after the other; a cut makes the SDK retry them.
  const results = [];
  const sender = (async () => {
    for (let k = 1; streaming; k++) {
      try {
        const r = await client.sendToGroup(acked, { k }, "json", { ackId: ackIdOf(k) });
        results.push({ k, isDuplicated: r.isDuplicated });
      } catch (err) {
        results.push({ k, error: `${err.name}: ${err.message} ${JSON.stringify(err.errorDetail ?? null)}` });
      }
      await sleep(sendEveryMs);
    }
  })();

  // The cuts. A blackout first loses what kwps sends, then sends an acked message and waits until the
  // listener got it: kwps executed it and its ack is lost, so the SDK's retry must come back as a
  // duplicate and must not reach the listener again.
  const start = Date.now();
  const blackouts = [];
  let current = first;
  const expectedTargets = [targetOf(current).name];
  for (const [i, cut] of cuts.entries()) {
    await sleep(Math.max(0, start + cut.at - Date.now()));
    if (cut.blackout) {
      proxy.blackout();
      blackouts.push({ i, result: client.sendToGroup(acked, { blackout: i }, "json", { ackId: blackoutAckIdOf(i) }) });
      await listener.events.take((e) => e.type === "group-message" && e.data?.blackout === i, `blackout message ${i}`);
      await sleep(blackoutMs);
    }
    if (cut.to) {
      current = cut.to;
      proxy.switchTo(targetOf(current));
    }
    const live = proxy.cut();
    assert.equal(live, 1, `cut ${i} at ${cut.at} ms found ${live} live connections; want the client's one (not recovered since the previous cut?)`);
    expectedTargets.push(targetOf(current).name);
  }
  await sleep(Math.max(0, start + streamMs - Date.now()));
  streaming = false;
  await Promise.all([...publishing, sender]);

  // Everything that went wrong is reported at once: which streams lost or repeated what says more
  // about a bug than the first failure alone.
  const problems = [];
  const check = (ok, problem) => ok || problems.push(problem);

  // The end of each stream, and the last acked send, must arrive; they are awaited together, so a
  // session that is gone costs one timeout, not four.
  await Promise.all(streams.map((stream) => publish[stream]({ stream, end: true })));
  const lastK = results.at(-1)?.k ?? 0;
  const endings = await Promise.allSettled([
    ...streams.map((stream) =>
      events.take((e) => e.stream === stream && e.end, `the end of the ${stream} stream`, settleTimeoutMs),
    ),
    eventually(
      () => listener.events.pending.some((e) => e.type === "group-message" && e.data?.k === lastK),
      `acked send ${lastK} reached the listener`,
      settleTimeoutMs,
    ),
  ]);
  for (const r of endings) {
    if (r.status === "rejected") problems.push(r.reason.message.split("\n")[0].replace(/; pending:$/, ""));
  }
  // The SDK settles a send when its ack arrives or the connection closes; the bound only stops a hang.
  const noAnswer = () => sleep(settleTimeoutMs).then(() => Promise.reject(new Error("no answer")));
  const blackoutResults = await Promise.allSettled(blackouts.map((b) => Promise.race([b.result, noAnswer()])));

  // Every message of every stream exactly once, in order, on the right event.
  const received = events.drain();
  for (const stream of streams) {
    check(sent[stream] >= 30, `only ${sent[stream]} ${stream} messages were published: too few to test anything`);
    const mine = received.filter((m) => m.stream === stream);
    const wrongEvent = mine.filter((m) => (stream === "group" ? m.group !== feed : !m.server));
    check(wrongEvent.length === 0, `${stream} messages on the wrong event: ${describe(wrongEvent)}`);
    const how = exactlyOnceInOrder(mine.map((m) => m.n), sent[stream]);
    check(how === "", `the ${stream} stream (published through ${publishers[stream].name ?? "kwps"}): ${how}`);
  }
  const stray = received.filter((m) => !streams.includes(m.stream));
  check(stray.length === 0, `messages the subscriber should not have received: ${describe(stray)}`);

  // Acked sends: each call succeeded (a retry answered as a duplicate counts) and each message reached
  // the listener once, in the order of the calls; the ones whose ack was lost were duplicates.
  const failed = results.filter((r) => r.error !== undefined);
  check(failed.length === 0, `acked sends that failed despite the SDK's retries: ${describe(failed)}`);
  const heard = listener.events.drain((e) => e.type === "group-message").map((e) => e.data);
  const how = exactlyOnceInOrder(heard.filter((d) => d.k !== undefined).map((d) => d.k), lastK);
  check(how === "", `the acked sends at the listener: ${how}`);
  const again = heard.filter((d) => d.blackout !== undefined);
  check(again.length === 0, `blackout messages that reached the listener twice: ${describe(again)}`);
  for (const [j, r] of blackoutResults.entries()) {
    const { i } = blackouts[j];
    if (r.status === "rejected") {
      problems.push(`the blackout send of cut ${i} failed: ${r.reason}`);
    } else {
      check(r.value.isDuplicated, `the blackout send of cut ${i}: its ack was lost, so its retry must be answered Duplicate`);
    }
  }

  // One session throughout: connected once, never disconnected or stopped, and every connection after
  // the first was a recovery of it, on the process the proxy pointed to.
  const once = [{ type: "connected", connectionId }];
  check(sameJSON(lifecycle, once), `the client's lifecycle events: ${describe(lifecycle)}; want only ${describe(once)}`);
  const want = expectedTargets.map((target, i) => ({ target, recovers: i === 0 ? null : connectionId }));
  check(
    sameJSON(proxy.connections, want),
    `the connections through the proxy: ${describe(proxy.connections)}; want one new connection, then one recovery per cut: ${describe(want)}`,
  );
  check(await service.connectionExists(connectionId), "the connection no longer exists");
  assert.ok(problems.length === 0, `${problems.length} problems:\n- ${problems.join("\n- ")}`);
}

function sameJSON(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** A short JSON rendering of a list for a failure message. */
function describe(items) {
  const shown = JSON.stringify(items.slice(0, 5));
  return items.length > 5 ? `${shown.slice(0, -1)}, ... (${items.length})]` : shown;
}

const cleanups = new WeakMap();

/**
 * Runs fn when test t ends, before whatever was deferred earlier (t.after runs hooks first to last): the
 * client stops before the proxy closes, kwps stops before Redis, so nothing waits on what is gone.
 */
function deferLifo(t, fn) {
  let stack = cleanups.get(t);
  if (stack === undefined) {
    stack = [];
    cleanups.set(t, stack);
    t.after(async () => {
      while (stack.length > 0) await stack.pop()();
    });
  }
  stack.push(fn);
}

/** The proxy target of a kwps process. */
function targetOf(kwps) {
  const { hostname, port } = new URL(kwps.endpoint);
  return { name: kwps.name ?? "kwps", host: hostname, port: Number(port) };
}

/** Polls get until it returns a value; fails after the arrival timeout. */
async function waitFor(get, what, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = get();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await sleep(20);
  }
}

/**
 * Returns "" when got is 1..count, else what is wrong: which numbers are missing, which came twice,
 * where the order broke.
 */
function exactlyOnceInOrder(got, count) {
  const problems = [];
  const seen = new Set();
  const duplicated = [];
  for (const n of got) {
    if (seen.has(n)) duplicated.push(n);
    seen.add(n);
  }
  const missing = [];
  for (let n = 1; n <= count; n++) {
    if (!seen.has(n)) missing.push(n);
  }
  const unexpected = [...seen].filter((n) => !(Number.isInteger(n) && n >= 1 && n <= count));
  const disorder = got.findIndex((n, i) => i > 0 && n <= got[i - 1]);
  if (missing.length > 0) problems.push(`missing ${list(missing)}`);
  if (duplicated.length > 0) problems.push(`received twice ${list(duplicated)}`);
  if (unexpected.length > 0) problems.push(`never sent ${list(unexpected)}`);
  if (disorder > 0) problems.push(`out of order at position ${disorder}: ${got[disorder]} after ${got[disorder - 1]}`);
  return problems.length === 0 ? "" : `${got.length} received of ${count} sent; ${problems.join("; ")}`;
}

function list(ns) {
  return ns.length > 20 ? `[${ns.slice(0, 20).join(", ")}, ... (${ns.length})]` : `[${ns.join(", ")}]`;
}
