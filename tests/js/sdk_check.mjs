// The official JS SDK against a live graphport server.
// Usage: node sdk_check.mjs <api-url> <package>   (package: "sdk-latest" or "sdk-2", npm aliases)
// Each check asserts values, order and statuses; the first failure exits non-zero.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";

const [apiUrl, pkg] = process.argv.slice(2);
const { Client } = await import(pkg);
const client = new Client({ apiUrl, apiKey: null });
const tag = randomUUID();
const installed = JSON.parse(readFileSync(new URL(`node_modules/${pkg}/package.json`, import.meta.url)));
console.log(`${pkg}: ${installed.name}@${installed.version}`);
const HI = { messages: [{ role: "user", content: "hi" }] };

async function collect(iterable) {
  const parts = [];
  for await (const part of iterable) parts.push(part);
  return parts;
}

function contentOf(message) {
  const { content } = message;
  return typeof content === "string" ? content : content.map((c) => c.text ?? "").join("");
}

async function checkThreads() {
  const thread = await client.threads.create({ metadata: { tag } });
  assert.equal(thread.status, "idle");
  assert.deepEqual(thread.metadata.tag, tag);
  const fetched = await client.threads.get(thread.thread_id);
  assert.equal(fetched.thread_id, thread.thread_id);
  const updated = await client.threads.update(thread.thread_id, { metadata: { step: 2 } });
  assert.deepEqual([updated.metadata.tag, updated.metadata.step], [tag, 2]);
  const found = await client.threads.search({ metadata: { tag } });
  assert.deepEqual(found.map((t) => t.thread_id), [thread.thread_id]);
  assert.equal(await client.threads.count({ metadata: { tag } }), 1);
  const copied = await client.threads.copy(thread.thread_id);
  assert.notEqual(copied.thread_id, thread.thread_id);
  await client.threads.delete(copied.thread_id);
  await assert.rejects(client.threads.get(copied.thread_id), (e) => e.status === 404);
  return thread.thread_id;
}

async function checkStream(threadId) {
  const parts = await collect(
    client.runs.stream(threadId, "chat", {
      input: HI,
      streamMode: ["values", "messages-tuple", "updates"],
    }),
  );
  const names = parts.map((p) => p.event);
  assert.equal(names[0], "metadata");
  const runId = parts[0].data.run_id;
  assert.match(runId, /^[0-9a-f-]{36}$/);
  assert.deepEqual(new Set(names.slice(1)), new Set(["values", "messages", "updates"]));
  // values: the input first, the reply last
  const values = parts.filter((p) => p.event === "values").map((p) => p.data);
  assert.deepEqual(values[0].messages.map((m) => m.type), ["human"]);
  const final = values.at(-1).messages;
  assert.deepEqual(final.map((m) => m.type), ["human", "ai"]);
  assert.equal(contentOf(final[1]), "hello from the fake model");
  // messages-tuple: [chunk, metadata] pairs of the model's tokens, before the node's update
  const tuples = parts.filter((p) => p.event === "messages").map((p) => p.data);
  assert.ok(tuples.length >= 2, `tokens streamed: ${tuples.length}`);
  for (const [chunk, metadata] of tuples) {
    assert.equal(chunk.type, "AIMessageChunk");
    assert.equal(metadata.langgraph_node, "respond");
  }
  assert.equal(tuples.map(([chunk]) => chunk.content).join(""), "hello from the fake model");
  const updateAt = names.indexOf("updates");
  assert.ok(names.lastIndexOf("messages") < updateAt, "tokens come before the node's update");
  const update = parts[updateAt].data;
  assert.deepEqual(Object.keys(update), ["respond"]);
  assert.equal(contentOf(update.respond.messages[0]), "hello from the fake model");
  assert.equal(names.at(-1), "values");
  const run = await client.runs.get(threadId, runId);
  assert.equal(run.status, "success");
  return runId;
}

async function checkState(threadId) {
  const state = await client.threads.getState(threadId);
  assert.deepEqual(state.next, []);
  assert.deepEqual(state.values.messages.map((m) => m.type), ["human", "ai"]);
  const history = await client.threads.getHistory(threadId);
  assert.ok(history.length >= 2, `history length ${history.length}`);
  assert.equal(history[0].checkpoint.checkpoint_id, state.checkpoint.checkpoint_id);
  const steps = history.map((h) => h.metadata.step);
  assert.deepEqual(steps, [...steps].sort((a, b) => b - a), "newest first");
  assert.deepEqual([history.at(-1).metadata.source, history.at(-1).metadata.step], ["input", -1]);
  const limited = await client.threads.getHistory(threadId, { limit: 1 });
  assert.equal(limited.length, 1);
  // an update makes a new checkpoint that the next read sees
  await client.threads.updateState(threadId, {
    values: { messages: [{ type: "ai", content: "edited", id: "edit-1" }] },
    asNode: "respond",
  });
  const after = await client.threads.getState(threadId);
  assert.equal(contentOf(after.values.messages.at(-1)), "edited");
  assert.equal(after.parent_checkpoint.checkpoint_id, state.checkpoint.checkpoint_id);
}

async function checkInterrupt() {
  const { thread_id: threadId } = await client.threads.create();
  const parts = await collect(
    client.runs.stream(threadId, "interrupting", { input: { log: [] }, streamMode: "updates" }),
  );
  const interrupts = parts.filter((p) => p.event === "updates" && "__interrupt__" in p.data);
  assert.equal(interrupts.length, 1);
  assert.deepEqual(interrupts[0].data.__interrupt__[0].value, { question: "proceed?" });
  const waiting = await client.threads.getState(threadId);
  assert.deepEqual(waiting.next, ["child"]);
  assert.deepEqual(waiting.tasks[0].interrupts[0].value, { question: "proceed?" });
  assert.equal((await client.threads.get(threadId)).status, "interrupted");
  const result = await client.runs.wait(threadId, "interrupting", { command: { resume: "yes" } });
  // the subgraph hands back its whole log, which the parent's reducer appends
  assert.deepEqual(result.log, ["prepared", "prepared", "answer:yes"]);
  const done = await client.threads.getState(threadId);
  assert.deepEqual(done.next, []);
  assert.equal((await client.threads.get(threadId)).status, "idle");
}

async function checkStore() {
  const namespace = ["js", tag];
  await client.store.putItem(namespace, "k1", { text: "apples", n: 1 });
  await client.store.putItem(namespace, "k2", { text: "pears", n: 2 });
  const item = await client.store.getItem(namespace, "k1");
  assert.deepEqual([item.namespace, item.key, item.value], [namespace, "k1", { text: "apples", n: 1 }]);
  const found = await client.store.searchItems(namespace, { filter: { n: 2 } });
  assert.deepEqual(found.items.map((i) => i.key), ["k2"]);
  const all = await client.store.searchItems(namespace, { limit: 10 });
  assert.deepEqual(all.items.map((i) => i.key).sort(), ["k1", "k2"]);
  const spaces = await client.store.listNamespaces({ prefix: namespace });
  assert.deepEqual(spaces.namespaces, [namespace]);
  await client.store.deleteItem(namespace, "k1");
  assert.equal(await client.store.getItem(namespace, "k1"), null);
  await client.store.deleteItem(namespace, "k2");
}

async function checkCrons(threadId) {
  const schedule = "0 0 1 1 *"; // never due during the test
  const [assistant] = await client.assistants.search({ graphId: "slow", limit: 1 });
  const made = await client.crons.create("slow", { schedule, input: { log: [] }, metadata: { tag } });
  const forThread = await client.crons.createForThread(threadId, "slow", { schedule, input: {} });
  assert.notEqual(made.cron_id, forThread.cron_id);
  assert.equal(forThread.thread_id, threadId);
  const onThread = await client.crons.search({ threadId });
  assert.deepEqual(onThread.map((c) => c.cron_id), [forThread.cron_id]);
  assert.equal(await client.crons.count({ threadId }), 1);
  const updated = await client.crons.update(made.cron_id, { schedule: "0 0 2 1 *", enabled: false });
  assert.equal(updated.schedule, "0 0 2 1 *");
  assert.equal(updated.enabled, false);
  for (const cron of [made, forThread]) await client.crons.delete(cron.cron_id);
  assert.equal(await client.crons.count({ threadId }), 0);
  const left = await client.crons.search({ assistantId: assistant.assistant_id, limit: 100 });
  assert.ok(!left.some((c) => c.cron_id === made.cron_id));
}

async function checkJoinStream() {
  const { thread_id: threadId } = await client.threads.create();
  // a finished resumable run: a join after an event id replays exactly what followed it
  const parts = await collect(
    client.runs.stream(threadId, "streaming", {
      input: HI,
      streamMode: ["values", "messages-tuple", "updates"],
      streamResumable: true,
    }),
  );
  const runId = parts[0].data.run_id;
  const everything = await collect(client.runs.joinStream(threadId, runId, { lastEventId: "-1" }));
  // ids are opaque strings: present on every event and unique
  const ids = everything.map((p) => p.id);
  assert.ok(ids.every((id) => typeof id === "string" && id !== ""), `ids ${ids}`);
  assert.equal(new Set(ids).size, ids.length);
  assert.deepEqual(everything.map((p) => p.event), parts.map((p) => p.event));
  const middle = Math.floor(everything.length / 2);
  const rest = await collect(
    client.runs.joinStream(threadId, runId, { lastEventId: everything[middle].id }),
  );
  assert.deepEqual(rest, everything.slice(middle + 1));
  // a live background run: leave after the first update, come back after its id
  const run = await client.runs.create(threadId, "slow", {
    input: { delay: 0.4 },
    streamMode: "updates",
    streamResumable: true,
  });
  let lastId;
  const first = [];
  for await (const part of client.runs.joinStream(threadId, run.run_id, { lastEventId: "-1" })) {
    first.push(part);
    lastId = part.id;
    if (part.event === "updates") break;
  }
  assert.deepEqual(Object.keys(first.at(-1).data), ["step"]);
  const tail = await collect(client.runs.joinStream(threadId, run.run_id, { lastEventId: lastId }));
  const seen = new Set(first.map((p) => p.id));
  assert.ok(tail.every((p) => p.id && !seen.has(p.id)), "only events after the last one seen");
  assert.deepEqual(tail.filter((p) => p.event === "updates").map((p) => p.data), [
    { after: { log: ["after"] } },
  ]);
  assert.equal((await client.runs.get(threadId, run.run_id)).status, "success");
}

async function startSlowRun(threadId) {
  const run = await client.runs.create(threadId, "slow", { input: { delay: 5 } });
  for (let i = 0; i < 100; i++) {
    if ((await client.runs.get(threadId, run.run_id)).status === "running") break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.equal((await client.runs.get(threadId, run.run_id)).status, "running");
  return run.run_id;
}

async function checkCancel() {
  const { thread_id: threadId } = await client.threads.create();
  const runId = await startSlowRun(threadId);
  await client.runs.cancel(threadId, runId, true);
  assert.equal((await client.runs.get(threadId, runId)).status, "interrupted");
  // its first node never finished: the thread waits on it
  assert.equal((await client.threads.get(threadId)).status, "interrupted");
  // an ended run cannot be cancelled again
  await assert.rejects(client.runs.cancel(threadId, runId), (e) => e.status === 404);
  const runs = await client.runs.list(threadId);
  assert.deepEqual(runs.map((r) => [r.run_id, r.status]), [[runId, "interrupted"]]);
  // rollback: the run and what it wrote are gone
  const rolledBack = await startSlowRun(threadId);
  await client.runs.cancel(threadId, rolledBack, true, "rollback");
  await assert.rejects(client.runs.get(threadId, rolledBack), (e) => e.status === 404);
  assert.deepEqual((await client.runs.list(threadId)).map((r) => r.run_id), [runId]);
}

const threadId = await checkThreads();
const checks = [
  ["streams values, messages-tuple and updates", () => checkStream(threadId)],
  ["reads state and history", () => checkState(threadId)],
  ["resumes an interrupt with a command", checkInterrupt],
  ["uses the store", checkStore],
  ["manages crons", () => checkCrons(threadId)],
  ["joins streams after a last event id", checkJoinStream],
  ["cancels a running run", checkCancel],
];
for (const [name, check] of checks) {
  const started = Date.now();
  await check();
  console.log(`ok ${pkg}: ${name} (${Date.now() - started} ms)`);
}
await client.threads.delete(threadId);
console.log(`ok ${pkg}: all checks passed`);
process.exit(0); // not waiting for idle keep-alive sockets to time out
