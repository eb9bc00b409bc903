// The same chat on `useStream` from @langchain/react (v1), which speaks the thread event
// streaming protocol: commands to /threads/{id}/commands and one thread-wide event stream, SSE
// by default (`?transport=websocket` picks the WebSocket). An interrupt is answered with
// `respond()`, and a reload hydrates the thread from its state.
import { useEffect, useState } from "react";
import { createRoot } from "react-dom/client";
import { useStream } from "@langchain/react";

const query = new URLSearchParams(window.location.search);
const apiUrl = query.get("api");
const transport = query.get("transport") ?? undefined;
// Every content an AI message showed, in order: the test reads it to see the reply grow.
window.__aiContents = [];

function text(message) {
  const { content } = message;
  return typeof content === "string" ? content : content.map((part) => part.text ?? "").join("");
}

function App() {
  const [threadId, setThreadId] = useState(query.get("threadId"));
  const [draft, setDraft] = useState("");
  const stream = useStream({
    apiUrl,
    assistantId: "approval",
    threadId,
    ...(transport ? { transport } : {}),
    onThreadId: (id) => {
      setThreadId(id);
      const next = new URLSearchParams(window.location.search);
      next.set("threadId", id);
      window.history.replaceState(null, "", `?${next}`);
    },
  });
  const messages = stream.messages;

  useEffect(() => {
    for (const message of messages) {
      const shown = text(message);
      if (message.type === "ai" && window.__aiContents.at(-1) !== shown) {
        window.__aiContents.push(shown);
      }
    }
  }, [messages]);

  const send = (event) => {
    event.preventDefault();
    const message = { type: "human", content: draft };
    setDraft("");
    stream.submit({ messages: [message] });
  };
  const request = stream.interrupt?.value?.[0];

  return (
    <main>
      <ul id="messages">
        {messages.map((message, index) => (
          <li key={message.id ?? index} data-type={message.type}>
            {text(message)}
          </li>
        ))}
      </ul>
      {request && !stream.isLoading && (
        <section id="interrupt">
          <p>{request.description}</p>
          <button
            id="respond"
            type="button"
            onClick={() => stream.respond([{ type: "response", args: "ship it" }])}
          >
            Respond
          </button>
        </section>
      )}
      {stream.error != null && <p id="error">{String(stream.error)}</p>}
      <p id="status">{stream.isLoading || stream.isThreadLoading ? "loading" : "idle"}</p>
      <form onSubmit={send}>
        <input id="draft" value={draft} onChange={(event) => setDraft(event.target.value)} />
        <button id="send" type="submit" disabled={stream.isLoading || !draft}>
          Send
        </button>
      </form>
    </main>
  );
}

createRoot(document.getElementById("root")).render(<App />);
