// The same chat on `useStream` from @langchain/react (v1), which speaks the thread event
// streaming protocol: commands to /threads/{id}/commands and one thread-wide event stream, SSE
// by default (`?transport=websocket` picks the WebSocket). An interrupt is answered with
// `respond()`, and a reload hydrates the thread from its state.
import { createRoot } from "react-dom/client";
import { useStream } from "@langchain/react";
import { Chat, useUrlThread } from "./chat.jsx";

const query = new URLSearchParams(window.location.search);
const apiUrl = query.get("api");
const transport = query.get("transport") ?? undefined;

function App() {
  const [threadId, onThreadId] = useUrlThread(query);
  const stream = useStream({
    apiUrl,
    assistantId: "approval",
    threadId,
    ...(transport ? { transport } : {}),
    onThreadId,
  });
  return (
    <Chat
      messages={stream.messages}
      request={stream.interrupt?.value?.[0]}
      loading={stream.isLoading || stream.isThreadLoading}
      error={stream.error}
      send={(message) => stream.submit({ messages: [message] })}
      respond={() => stream.respond([{ type: "response", args: "ship it" }])}
    />
  );
}

createRoot(document.getElementById("root")).render(<App />);
