"""`csm mcp`: the tool surface served to MCP clients over stdio or streamable HTTP."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    """Add `csm mcp` to the command line."""
    mcp = sub.add_parser(
        "mcp", help="serve the tools to MCP clients (Claude Code, Cursor, VS Code)",
        description="Serve the read-only tools (scores, accounts, history, knowledge search,\n"
                    "the six-step assessment), the playbook and knowledge resources and the\n"
                    "six-step prompt over MCP. Logs go to stderr.",
        epilog="Examples:\n  csm mcp\n  csm mcp --transport http --port 8765 --allow-writes",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    mcp.add_argument("--transport", choices=["stdio", "http"], default="stdio",
                     help="stdio (default, for a runner that starts csm) or streamable HTTP")
    mcp.add_argument("--host", default="127.0.0.1", help="HTTP address (default 127.0.0.1)")
    mcp.add_argument("--port", type=int, default=8000, metavar="N", help="HTTP port (default 8000)")
    mcp.add_argument("--db", metavar="PATH|URL",
                     help="the store the tools read and import into: a SQLite file or a "
                     "postgresql:// URL (default: $CSM_DB, else csm.sqlite3 in the data "
                     "directory)")
    mcp.add_argument("--allow-writes", action="store_true",
                     help="also serve the write_* tools (import a portfolio, save reports)")
    mcp.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """`csm mcp`."""
    import os

    from agent.interfaces.mcp_server import main as serve

    if args.db:
        os.environ["CSM_DB"] = args.db  # the tools read the workspace from the environment
    return serve(args.transport, args.host, args.port, args.allow_writes)
