"""The commands of `csm`, one module per command group."""
