"""A2A (Agent2Agent, protocol 0.3 over JSON-RPC): assistants whose graph keeps ``messages``
answer other agents at ``POST /a2a/{assistant_id}``."""
