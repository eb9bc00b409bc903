"""Custom authentication and authorization: a ``langgraph_sdk.Auth`` named in langgraph.json."""
