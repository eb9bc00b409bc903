"""Protocols other than the Agent Server API, served beside it: A2A and MCP."""
