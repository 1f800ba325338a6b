"""The interfaces: the `csm` command line (one module per command group), the MCP server, the
renderers and the errors they share. The only place that knows about argv, exit codes and
terminals."""
