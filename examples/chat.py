"""A small chat graph that needs no LLM: a fake chat model streams an echo reply token by token."""

from __future__ import annotations

from dataclasses import dataclass

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.runtime import Runtime


@dataclass
class ChatContext:
    """Per-assistant settings (set them with ``context`` when creating an assistant)."""

    greeting: str = "You said"


def _reply_to(messages: list[BaseMessage], greeting: str) -> str:
    last = messages[-1].text if messages else ""
    return f"{greeting}: {last}" if last else "Hello! Send me a message."


async def respond(
    state: MessagesState, runtime: Runtime[ChatContext]
) -> dict[str, list[AIMessage]]:
    greeting = runtime.context.greeting if runtime.context else ChatContext.greeting
    reply = _reply_to(state["messages"], greeting)
    model = GenericFakeChatModel(messages=iter([AIMessage(content=reply)]))
    message = await model.ainvoke(state["messages"])
    return {"messages": [message]}


builder = StateGraph(MessagesState, context_schema=ChatContext)
builder.add_node("respond", respond)
builder.add_edge(START, "respond")
builder.add_edge("respond", END)
graph = builder.compile()
