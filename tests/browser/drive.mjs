// Build the pages (app/) with esbuild, serve them on a local port and drive them in headless
// Chromium against a live graphport server: send a message, watch the reply stream in, answer
// the interrupt, reload and see the thread's history. Three runs of that scenario: the
// agent-chat-ui page (langgraph-sdk's useStream over runs/stream), then the @langchain/react page
// over the thread event protocol, on its default SSE transport and on the WebSocket.
// Usage: node drive.mjs <api-url> <out-dir> <chromium-path>
// Prints "SUMMARY <json>" (per page: requests, sockets, console messages); any failed check
// exits non-zero.
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { chromium } from "playwright-core";

const [apiUrl, outDir, executablePath] = process.argv.slice(2);
const here = fileURLToPath(new URL(".", import.meta.url));
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".map": "application/json" };
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

async function bundle() {
  await build({
    entryPoints: [join(here, "app", "main.jsx"), join(here, "app", "v2.jsx")],
    bundle: true,
    outdir: outDir,
    format: "esm",
    jsx: "automatic",
    minify: true,
    sourcemap: true,
    target: "es2022",
    define: { "process.env.NODE_ENV": '"production"' },
    logLevel: "warning",
  });
  // one page, two scripts: v2.html is index.html loading v2.js
  const page = await readFile(join(here, "app", "index.html"), "utf8");
  await writeFile(join(outDir, "index.html"), page);
  await writeFile(join(outDir, "v2.html"), page.replace("./main.js", "./v2.js"));
}

function serve() {
  const server = createServer(async (request, response) => {
    const path = new URL(request.url, "http://x").pathname;
    const file = path === "/" ? "index.html" : path.slice(1);
    try {
      const body = await readFile(join(outDir, file));
      response.writeHead(200, { "content-type": TYPES[extname(file)] ?? "text/plain" });
      response.end(body);
    } catch {
      response.writeHead(404).end();
    }
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => resolve(server));
  });
}

// Chromium reports a fetch of a `Cache-Control: no-store` stream that the page read to its
// end as failed (net::ERR_ABORTED; microsoft/playwright#42742), as it does a real abort. So the
// page notes how each event stream it read ended: only one it read to the end is not a failure.
function observeStreams() {
  const fetched = window.fetch.bind(window);
  window.__streams = [];
  window.fetch = async (input, init) => {
    const response = await fetched(input, init);
    const type = response.headers.get("content-type") ?? "";
    if (!type.startsWith("text/event-stream") || response.body == null) return response;
    const seen = { url: response.url, method: init?.method ?? "GET", end: "reading" };
    window.__streams.push(seen);
    const { readable, writable } = new TransformStream();
    response.body.pipeTo(writable).then(
      () => (seen.end = "eof"),
      (error) => (seen.end = `error: ${error}`),
    );
    Object.defineProperty(response, "body", { value: readable });
    return response;
  };
}

/** Every request and WebSocket the page opens, with how it ended; console messages, errors. */
function record(page) {
  const log = { requests: [], sockets: [], console: [], pageErrors: [] };
  const entries = new Map();
  page.on("request", (request) => {
    const url = new URL(request.url());
    const path = url.pathname.replace(UUID, "{id}");
    const entry = { method: request.method(), origin: url.origin, path, url: url.href };
    entries.set(request, entry);
    log.requests.push(entry);
  });
  page.on("response", (response) => {
    entries.get(response.request()).status = response.status();
  });
  page.on("requestfinished", (request) => {
    entries.get(request).end = "finished";
  });
  page.on("requestfailed", (request) => {
    entries.get(request).end = request.failure()?.errorText ?? "failed";
  });
  page.on("websocket", (socket) => {
    const path = new URL(socket.url()).pathname.replace(UUID, "{id}");
    const entry = { path, sent: 0, received: 0, end: "open" };
    log.sockets.push(entry);
    socket.on("framesent", () => (entry.sent += 1));
    socket.on("framereceived", () => (entry.received += 1));
    socket.on("socketerror", (error) => (entry.end = `error: ${error}`));
    socket.on("close", () => (entry.end = entry.end === "open" ? "closed" : entry.end));
  });
  page.on("console", (message) => log.console.push({ type: message.type(), text: message.text() }));
  page.on("pageerror", (error) => log.pageErrors.push(String(error)));
  return log;
}

/** Waits until every request but a live event stream has ended, and none began for 500 ms
 * (Playwright's networkidle never comes while a thread event stream is open). */
async function quiet(page, log) {
  let seen = -1;
  for (let tries = 0; tries < 100; tries += 1) {
    const pending = log.requests.filter((r) => r.end === undefined && r.status === undefined);
    if (pending.length === 0 && log.requests.length === seen) return;
    seen = log.requests.length;
    await page.waitForTimeout(500);
  }
  throw new Error("requests still pending after 50 s");
}

/** The failed requests. Chromium reports an event stream the page read to its end as aborted,
 * and a thread event stream the page was still reading when it reloaded or closed is aborted
 * by the page: neither is a failure. `streams` is what the page saw of its event streams. */
function failures(requests, streams) {
  const readToEnd = streams.filter((s) => s.end === "eof");
  const live = streams.filter((s) => s.end === "reading" && s.url.endsWith("/stream/events"));
  const failed = [];
  for (const request of requests) {
    const at = readToEnd.findIndex((s) => s.url === request.url && s.method === request.method);
    const open = live.findIndex((s) => s.url === request.url && s.method === request.method);
    const aborted = request.end === "net::ERR_ABORTED" || request.end === undefined;
    if (request.end === "net::ERR_ABORTED" && request.status === 200 && at !== -1) {
      readToEnd.splice(at, 1);
      request.end = "read to the end (reported net::ERR_ABORTED)";
    } else if (aborted && request.status === 200 && open !== -1) {
      live.splice(open, 1);
      request.end = "live thread stream, closed by the page";
    }
    const ended = request.end === "finished" || /^(read to the end|live thread)/.test(request.end);
    if (!ended || !(request.status < 400)) failed.push(request);
  }
  return failed;
}

async function shownMessages(page) {
  return page.$$eval("#messages li", (items) =>
    items.map((item) => [item.dataset.type, item.textContent]),
  );
}

async function settled(page, count) {
  await page.waitForFunction(
    (n) =>
      document.querySelectorAll("#messages li").length === n &&
      document.querySelector("#status")?.textContent === "idle",
    count,
    { timeout: 20000 },
  );
}

async function streamsOf(page) {
  return page.evaluate(() => window.__streams.map((s) => ({ ...s })));
}

async function scenario(page, pageUrl, log, streams) {
  await page.goto(pageUrl);
  await page.waitForSelector("#draft");
  await page.fill("#draft", "hello browser");
  await page.click("#send");
  // the reply streams in, then the graph asks for approval
  await page.waitForSelector("#interrupt", { timeout: 20000 });
  await settled(page, 2);
  const reply = "You said: hello browser. Shall I send it?";
  assert.deepEqual(await shownMessages(page), [
    ["human", "hello browser"],
    ["ai", reply],
  ]);
  assert.equal(await page.textContent("#interrupt p"), "Send the reply?");
  const grown = await page.evaluate(() => window.__aiContents);
  assert.equal(grown.at(-1), reply);
  const partial = grown.filter((shown) => shown !== reply && reply.startsWith(shown));
  assert.ok(partial.length >= 2, `the reply grew as it streamed: ${JSON.stringify(grown)}`);
  const threadId = new URL(page.url()).searchParams.get("threadId");
  assert.match(threadId ?? "", UUID);

  // the answer: a resume command (agent-chat-ui) or respond() (@langchain/react)
  await page.click("#respond");
  await page.waitForSelector("#interrupt", { state: "detached", timeout: 20000 });
  await settled(page, 3);
  const finished = [
    ["human", "hello browser"],
    ["ai", reply],
    ["ai", "Sent (response: ship it)"],
  ];
  assert.deepEqual(await shownMessages(page), finished);
  await quiet(page, log);

  streams.push(...(await streamsOf(page)));
  // a reload reads the thread's history from the URL's thread id
  await page.reload();
  await settled(page, 3);
  assert.deepEqual(await shownMessages(page), finished);
  assert.equal(await page.$("#interrupt"), null);
  assert.equal(await page.$("#error"), null);
  assert.equal(new URL(page.url()).searchParams.get("threadId"), threadId);
  await quiet(page, log);
  streams.push(...(await streamsOf(page)));
  return threadId;
}

async function checkServerSide(threadId) {
  const thread = await (await fetch(`${apiUrl}/threads/${threadId}`)).json();
  assert.equal(thread.status, "idle");
  const state = await (await fetch(`${apiUrl}/threads/${threadId}/state`)).json();
  assert.deepEqual(state.next, []);
  assert.deepEqual(
    state.values.messages.map((m) => m.type),
    ["human", "ai", "ai"],
  );
}

/** One page, in a browser context of its own; returns its summary. */
async function drive(browser, { name, path, transport }) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.addInitScript(observeStreams);
  const log = record(page);
  const streams = [];
  const started = Date.now();
  const summarize = () => {
    const requests = log.requests.map(({ url, ...kept }) => kept);
    return { name, ms: Date.now() - started, ...log, requests, streams: streams.length };
  };
  try {
    const query = new URLSearchParams({ api: apiUrl, ...(transport ? { transport } : {}) });
    const threadId = await scenario(page, `${pageOrigin}${path}?${query}`, log, streams);
    await checkServerSide(threadId);
  } catch (error) {
    error.summary = summarize(); // what the page did up to the failure
    throw error;
  } finally {
    await context.close();
  }
  const failed = failures(log.requests, streams);
  const summary = summarize();
  assert.deepEqual(failed, [], `${name}: failed requests`);
  // runs/stream: a stream per run; thread events: one thread-wide stream or socket (a reload
  // hydrates from the thread's state and opens none until the next submit)
  const carriers = transport === "websocket" ? summary.sockets : streams;
  assert.ok(carriers.length >= (path === "/" ? 2 : 1), `${name}: ${JSON.stringify(carriers)}`);
  assert.ok(
    streams.every((s) => s.end === "eof" || (s.end === "reading" && s.url.endsWith("/stream/events"))),
    `${name}: event streams that broke: ${JSON.stringify(streams)}`,
  );
  if (transport === "websocket") {
    assert.ok(summary.sockets.every((s) => s.received > 0 && !s.end.startsWith("error")), name);
  }
  assert.deepEqual(log.pageErrors, [], `${name}: page errors`);
  assert.deepEqual(
    log.console.filter((m) => m.type === "error" || m.type === "warning"),
    [],
    `${name}: console errors and warnings`,
  );
  return summary;
}

const PAGES = [
  { name: "useStream (langgraph-sdk/react), runs/stream", path: "/" },
  { name: "useStream (@langchain/react), thread events over SSE", path: "/v2.html" },
  {
    name: "useStream (@langchain/react), thread events over WebSocket",
    path: "/v2.html",
    transport: "websocket",
  },
];
const timings = {};
const timed = async (name, action) => {
  const started = Date.now();
  const result = await action();
  timings[name] = Date.now() - started;
  return result;
};
await timed("bundleMs", bundle);
const server = await serve();
const pageOrigin = `http://127.0.0.1:${server.address().port}`;
const browser = await timed("launchMs", () =>
  chromium.launch({ executablePath, headless: true, args: FLAGS }),
);
const pages = [];
const report = () => console.log(`SUMMARY ${JSON.stringify({ pageOrigin, apiUrl, timings, pages })}`);
try {
  for (const spec of PAGES) pages.push(await drive(browser, spec));
} catch (error) {
  if (error.summary) pages.push(error.summary);
  report();
  throw error;
} finally {
  await timed("closeMs", () => browser.close());
  server.close();
}
report();
console.log("ok: browser scenario passed");
process.exit(0); // not waiting for idle keep-alive sockets to time out
