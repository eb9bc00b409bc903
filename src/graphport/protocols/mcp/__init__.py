"""MCP (Model Context Protocol), streamable HTTP transport, stateless: every assistant the
caller can see is a tool at ``/mcp``."""
