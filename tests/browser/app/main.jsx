// A small chat page on useStream, as agent-chat-ui builds one: the thread id lives in the URL,
// a message is submitted with its optimistic value, an interrupt is answered with an empty
// input and a resume command, and a reload shows the thread's history.
import { useEffect, useState } from "react";
import { createRoot } from "react-dom/client";
import { useStream } from "@langchain/langgraph-sdk/react";

const query = new URLSearchParams(window.location.search);
const apiUrl = query.get("api");
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
    fetchStateHistory: true,
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
    stream.submit(
      { messages: [message] },
      {
        streamMode: ["values"],
        streamSubgraphs: true,
        streamResumable: true,
        optimisticValues: (prev) => ({ ...prev, messages: [...(prev.messages ?? []), message] }),
      },
    );
  };
  const answer = (type, args) => stream.submit({}, { command: { resume: [{ type, args }] } });
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
          <button id="respond" type="button" onClick={() => answer("response", "ship it")}>
            Respond
          </button>
        </section>
      )}
      {stream.error != null && <p id="error">{String(stream.error)}</p>}
      <p id="status">{stream.isLoading ? "loading" : "idle"}</p>
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
