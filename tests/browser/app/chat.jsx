// What both chat pages show, whatever hook drives them: the messages, the pending question
// with its Respond button, the error and status lines, and the draft form. The test reads
// `window.__aiContents` (every content an AI message showed, in order) to see a reply grow.
import { useEffect, useState } from "react";

window.__aiContents = [];

export function text(message) {
  const { content } = message;
  return typeof content === "string" ? content : content.map((part) => part.text ?? "").join("");
}

export function Chat({ messages, request, loading, error, send, respond }) {
  const [draft, setDraft] = useState("");

  useEffect(() => {
    for (const message of messages) {
      const shown = text(message);
      if (message.type === "ai" && window.__aiContents.at(-1) !== shown) {
        window.__aiContents.push(shown);
      }
    }
  }, [messages]);

  const submit = (event) => {
    event.preventDefault();
    send({ type: "human", content: draft });
    setDraft("");
  };

  return (
    <main>
      <ul id="messages">
        {messages.map((message, index) => (
          <li key={message.id ?? index} data-type={message.type}>
            {text(message)}
          </li>
        ))}
      </ul>
      {request && !loading && (
        <section id="interrupt">
          <p>{request.description}</p>
          <button id="respond" type="button" onClick={respond}>
            Respond
          </button>
        </section>
      )}
      {error != null && <p id="error">{String(error)}</p>}
      <p id="status">{loading ? "loading" : "idle"}</p>
      <form onSubmit={submit}>
        <input id="draft" value={draft} onChange={(event) => setDraft(event.target.value)} />
        <button id="send" type="submit" disabled={loading || !draft}>
          Send
        </button>
      </form>
    </main>
  );
}

/** The thread id kept in the page's URL (a reload finds the thread again). */
export function useUrlThread(query) {
  const [threadId, setThreadId] = useState(query.get("threadId"));
  const onThreadId = (id) => {
    setThreadId(id);
    const next = new URLSearchParams(window.location.search);
    next.set("threadId", id);
    window.history.replaceState(null, "", `?${next}`);
  };
  return [threadId, onThreadId];
}
