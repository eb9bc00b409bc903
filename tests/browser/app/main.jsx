// A small chat page on useStream, as agent-chat-ui builds one: the thread id lives in the URL,
// a message is submitted with its optimistic value, an interrupt is answered with an empty
// input and a resume command, and a reload shows the thread's history.
import { createRoot } from "react-dom/client";
import { useStream } from "@langchain/langgraph-sdk/react";
import { Chat, useUrlThread } from "./chat.jsx";

const query = new URLSearchParams(window.location.search);
const apiUrl = query.get("api");

function App() {
  const [threadId, onThreadId] = useUrlThread(query);
  const stream = useStream({
    apiUrl,
    assistantId: "approval",
    threadId,
    fetchStateHistory: true,
    onThreadId,
  });
  const send = (message) =>
    stream.submit(
      { messages: [message] },
      {
        streamMode: ["values"],
        streamSubgraphs: true,
        streamResumable: true,
        optimisticValues: (prev) => ({ ...prev, messages: [...(prev.messages ?? []), message] }),
      },
    );
  // agent-chat-ui's answer: submit({}, { command: { resume: [HumanResponse] } })
  const respond = () =>
    stream.submit({}, { command: { resume: [{ type: "response", args: "ship it" }] } });
  return (
    <Chat
      messages={stream.messages}
      request={stream.interrupt?.value?.[0]}
      loading={stream.isLoading}
      error={stream.error}
      send={send}
      respond={respond}
    />
  );
}

createRoot(document.getElementById("root")).render(<App />);
