"""Thread event streaming ("protocol v2"): ``POST /threads/{id}/commands`` and
``POST /threads/{id}/stream/events`` (SSE), on LangGraph's ``astream_events(version="v3")``."""
