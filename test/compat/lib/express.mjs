// Runs an express app (an event-handler upstream) on a free port of 127.0.0.1 until the test file ends.
import { once } from "node:events";

/**
 * Starts app and returns its base URL and a close function that also ends kept-alive connections.
 * @param {import("express").Express} app
 * @returns {Promise<{url: string, port: number, close: () => Promise<void>}>}
 */
export async function serveExpress(app) {
  const server = app.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: async () => {
      const closed = once(server, "close");
      server.close();
      server.closeAllConnections();
      await closed;
    },
  };
}

/**
 * Middleware that records every abuse-protection request (OPTIONS) before the event handlers answer it:
 * {path, origin (WebHook-Request-Origin), awpsVersion (ce-awpsversion)}.
 * @param {import("./inbox.mjs").Inbox} inbox
 */
export function recordPreflights(inbox) {
  return (req, _res, next) => {
    if (req.method === "OPTIONS") {
      inbox.push({ path: req.path, origin: req.get("webhook-request-origin"), awpsVersion: req.get("ce-awpsversion") });
    }
    next();
  };
}
