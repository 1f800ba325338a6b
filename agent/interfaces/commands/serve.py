"""`csm serve`: the web app (portfolio, accounts, sweeps, chat and a JSON API) on this machine,
or, with CSM_WEB_TOKEN, for other machines too."""

from __future__ import annotations

import argparse
import os
import socket
import sys
from pathlib import Path
from typing import Any

from agent.interfaces.errors import CliError
from agent.interfaces.options import (
    add_model_file_option,
    add_playbook_option,
    iso_date,
    positive_int,
)
from tools.escaping import terminal_line

MIN_TOKEN = 16


def port_number(text: str) -> int:
    """argparse type for --port."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a port number") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 1 to 65535, got {value}")
    return value


def register(sub: Any) -> None:
    """Add `csm serve` to the command line."""
    serve = sub.add_parser(
        "serve", help="the web app: portfolio, accounts, sweeps and chat in a browser",
        description="Serve the portfolio (sortable, filterable accounts, distribution, work "
        "queue, renewals, QBRs, retention against targets), each account (health and churn "
        "breakdown, signals, opportunities, stakeholders, the five reports, history, forecast), "
        "the sweeps and a chat panel, as server-rendered pages and a JSON API under /api/ "
        "(documented at /api/docs). Read from the store, or from PORTFOLIO; the bundled sample "
        "when neither holds accounts. Works offline; read-only unless --allow-writes.",
        epilog="Any --host but loopback needs CSM_WEB_TOKEN (a secret of 16 or more "
        "characters): browsers open /?token=SECRET once, scripts send "
        "`Authorization: Bearer SECRET`.\nExamples:\n  csm serve\n"
        "  csm serve clients.csv --port 8080\n"
        "  CSM_WEB_TOKEN=... csm serve --host 0.0.0.0 --db /srv/csm/csm.sqlite3\n"
        "  csm serve --db postgresql://csm@db.internal:5432/csm",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument("portfolio", nargs="?", type=Path, metavar="PORTFOLIO",
                       help="a portfolio file (default: $CSM_PORTFOLIO, else the store, else "
                       "the bundled sample)")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default 127.0.0.1: this machine only)")
    serve.add_argument("--port", type=port_number, default=8000, metavar="N",
                       help="port (default 8000)")
    serve.add_argument("--db", metavar="PATH|URL", type=str,
                       help="the store: a SQLite file or a postgresql:// URL (default: "
                       "$CSM_DB, else csm.sqlite3 in the data directory)")
    serve.add_argument("--as-of", type=iso_date, metavar="DATE",
                       help="the day of the account pages (default: $CSM_AS_OF, else the "
                       "portfolio's as_of, else the latest sweep's day, else today)")
    serve.add_argument("--allow-writes", action="store_true",
                       help="allow the import form (CSRF-protected); read-only without it")
    serve.add_argument("--workers", type=positive_int, metavar="N", default=1,
                       help="worker processes when a portfolio without a stored sweep is "
                       "swept at start (default 1)")
    add_playbook_option(serve)
    add_model_file_option(serve)
    serve.set_defaults(run=run)


def _check_port(host: str, port: int) -> None:
    """A port already taken is one sentence, before anything is loaded."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host.strip("[]"), port))
        except OSError as error:
            raise CliError(f"--host {host} --port {port}: cannot listen there "
                           f"({error.strerror}); pick another --port or stop what uses it."
                           ) from None


def run(args: argparse.Namespace) -> int:
    """`csm serve`."""
    try:
        import uvicorn

        from agent.interfaces.web.app import create_app
        from agent.interfaces.web.data import ServeError, ServeSettings
        from agent.interfaces.web.security import is_loopback
    except ImportError as error:
        raise CliError(f"csm serve needs the web extra ({error.name} is missing): "
                       "pip install 'csm-agent[web]'.") from None
    from agent.accounts import SourceError
    from agent.interfaces.commands.kb import knowledge_ready
    from agent.interfaces.errors import load_checked_playbook, load_run_model
    from agent.sweeps.store import open_store
    from tools.paths import store_location

    token = os.environ.get("CSM_WEB_TOKEN", "").strip() or None
    local = is_loopback(args.host)
    if not local and token is None:
        raise CliError(
            f"--host {args.host} opens csm serve to other machines, so it needs an access "
            "token: set CSM_WEB_TOKEN to a secret of 16 or more characters and start again, or "
            "keep the default --host 127.0.0.1."
        )
    if token is not None and len(token) < MIN_TOKEN:
        raise CliError(f"CSM_WEB_TOKEN is {len(token)} characters; use a secret of "
                       f"{MIN_TOKEN} or more (e.g. python3 -c 'import secrets; "
                       "print(secrets.token_urlsafe(24))').")
    portfolio = args.portfolio or (Path(os.environ["CSM_PORTFOLIO"])
                                   if os.environ.get("CSM_PORTFOLIO") else None)
    if portfolio is not None and not portfolio.is_file():
        raise CliError(f"{portfolio}: file not found; check the path.")
    where = store_location(args.db)
    db: Path | str
    if isinstance(where, Path):
        db = where.expanduser().resolve()
    else:  # a server: reached now, so a wrong URL is one sentence before anything starts
        open_store(where).close()
        db = where
    _check_port(args.host, args.port)
    playbook = load_checked_playbook(args.playbook)
    churn_model = load_run_model(args.model_file, playbook, args.playbook)
    # the chat panel's tools read the workspace from the environment: the same source
    if portfolio is not None:
        os.environ["CSM_PORTFOLIO"] = str(portfolio.resolve())
    os.environ["CSM_DB"] = str(db)
    if args.as_of:
        os.environ["CSM_AS_OF"] = args.as_of.isoformat()
    knowledge_ready()
    settings = ServeSettings(
        portfolio=portfolio.resolve() if portfolio else None, db=db, as_of=args.as_of,
        playbook=args.playbook, churn_model=churn_model, allow_writes=args.allow_writes,
        token=token, workers=args.workers,
    )
    app = create_app(settings, loopback_only=local)
    _say("csm serve: reading the accounts and their latest sweep ...")
    try:
        source = app.state.data.warm()
    except (ServeError, SourceError) as error:  # the store failed since it was reached
        app.state.data.close()
        raise CliError(str(error)) from None
    for note in source.notes:
        _say(f"csm serve: {note}")
    host = f"[{args.host}]" if ":" in args.host else args.host
    mode = "writes allowed (import form)" if args.allow_writes else "read-only"
    chat = "chat on" if app.state.chat.available else "chat off: no model configured"
    _say(f"csm serve: {source.label}, as of {source.as_of}; {mode}; {chat}.")
    if token is not None:
        _say(f"csm serve: every request needs the token in CSM_WEB_TOKEN: open "
             f"http://{host}:{args.port}/?token=<CSM_WEB_TOKEN> once in a browser, or send "
             "`Authorization: Bearer <CSM_WEB_TOKEN>`. Plain HTTP: put a TLS proxy in front "
             "for another network.")
    _say(f"csm serve: open http://{host}:{args.port}/ (Ctrl-C stops it)")
    uvicorn.run(app, host=args.host.strip("[]"), port=args.port, log_level="warning",
                access_log=False)
    return 0


def _say(line: str) -> None:
    print(terminal_line(line), file=sys.stderr, flush=True)
