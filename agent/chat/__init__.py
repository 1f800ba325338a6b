"""The chat agent (LangChain `create_agent`) and the tool surface it shares with the MCP server."""
