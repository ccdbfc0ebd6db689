// An Inbox collects what arrives asynchronously (client events, frames, upstream calls) so that a test
// can wait for the item it expects, with a deadline, and can check that something did not arrive.
import { setTimeout as sleep } from "node:timers/promises";

/** How long a test waits for something that should arrive. */
export const arrivalTimeoutMs = 5_000;

/** How long a test lets something that should not arrive have a chance to, after a barrier. */
export const settleMs = 150;

export class Inbox {
  #name;
  #items = [];
  #waiters = [];

  /** @param {string} name what the inbox holds, for failure messages */
  constructor(name) {
    this.#name = name;
  }

  /** Adds an item, handing it to the oldest waiter it satisfies. */
  push(item) {
    const i = this.#waiters.findIndex((w) => w.match(item));
    if (i >= 0) {
      const [w] = this.#waiters.splice(i, 1);
      w.resolve(item);
      return;
    }
    this.#items.push(item);
  }

  /** Items received and not yet taken. */
  get pending() {
    return [...this.#items];
  }

  /** Removes and returns, in arrival order, every item received, not yet taken, that matches. */
  drain(match = () => true) {
    const out = this.#items.filter(match);
    this.#items = this.#items.filter((x) => !match(x));
    return out;
  }

  /**
   * Removes and returns the first item that matches, waiting for it if needed.
   * @param {(item: any) => boolean} [match]
   * @param {string} [what] what is expected, for the failure message
   * @param {number} [timeoutMs]
   */
  take(match = () => true, what = "an item", timeoutMs = arrivalTimeoutMs) {
    const i = this.#items.findIndex(match);
    if (i >= 0) {
      return Promise.resolve(this.#items.splice(i, 1)[0]);
    }
    return new Promise((resolve, reject) => {
      const waiter = { match, resolve: (item) => (clearTimeout(timer), resolve(item)) };
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        const seen = this.#items.map((x) => describe(x)).join("\n  ") || "(nothing)";
        reject(new Error(`${this.#name}: ${what} did not arrive within ${timeoutMs} ms; pending:\n  ${seen}`));
      }, timeoutMs);
      this.#waiters.push(waiter);
    });
  }

  /**
   * Fails if an item that matches has arrived, after a short settling time. Call it after a barrier (a
   * later item that did arrive) so that the settling time only covers reordering, not delivery.
   * @param {(item: any) => boolean} match
   * @param {string} what what must not arrive, for the failure message
   */
  async none(match, what) {
    await sleep(settleMs);
    const hit = this.#items.find(match);
    if (hit !== undefined) {
      throw new Error(`${this.#name}: ${what} arrived, but should not have: ${describe(hit)}`);
    }
  }
}

function describe(item) {
  try {
    return JSON.stringify(item, (_, v) => (v instanceof ArrayBuffer ? `ArrayBuffer(${v.byteLength})` : v)).slice(0, 300);
  } catch {
    return String(item);
  }
}

/**
 * Polls check until it returns true, or fails after timeoutMs: for state that changes without an event
 * the test can wait on (e.g. a connection leaving the hub's index after its socket closed).
 * @param {() => Promise<boolean> | boolean} check
 * @param {string} what the condition, for the failure message
 */
export async function eventually(check, what, timeoutMs = arrivalTimeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`${what}: still not true after ${timeoutMs} ms`);
    await sleep(50);
  }
}
