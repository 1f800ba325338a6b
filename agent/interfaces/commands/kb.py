"""`csm kb index|search`: the knowledge base, built and searched from the terminal."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from agent.interfaces.errors import EXIT_OK, CliError
from agent.interfaces.options import Parser
from tools.knowledge.documents import TOPICS


def register(sub: Any) -> None:
    """Add `csm kb` to the command line."""
    kb = sub.add_parser(
        "kb",
        help="build or search the knowledge base",
        description="The playbook knowledge base (English and Russian) in a local Chroma index. "
        "The index lives in $CSM_KNOWLEDGE_DIR, else in knowledge-index of $CSM_DATA_DIR "
        "(default: your user data directory); it is built on first use and rebuilt when a "
        "build was interrupted or the documents changed. Embeddings run offline "
        "(CSM_EMBEDDINGS=use by default) on CSM_EMBED_THREADS math threads (default 1).",
    )
    kb_sub = kb.add_subparsers(dest="kb_command", metavar="ACTION", parser_class=Parser)
    kb_index = kb_sub.add_parser(
        "index",
        help="index new and changed documents",
        description="Embed new and changed documents and drop removed ones. Unchanged documents "
        "(same content hash) keep their stored embeddings; when nothing changed nothing is "
        "embedded. The new index replaces the old one only once it is complete.",
    )
    kb_index.add_argument("--rebuild", action="store_true", help="embed every document again")
    kb_search = kb_sub.add_parser(
        "search",
        help="search the knowledge base",
        description="Find the passages that answer a question, in either language.",
        epilog='Examples:\n  csm kb search "what do we do when a client stops logging in?"\n'
        '  csm kb search "как провести QBR" --lang ru --k 3 --format json',
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    kb_search.add_argument("query", metavar="QUERY", help="the question, in English or Russian")
    kb_search.add_argument("--k", type=int, default=5, metavar="N", help="passages (default 5)")
    kb_search.add_argument(
        "--topic", choices=TOPICS, metavar="TOPIC", help="only this topic: " + ", ".join(TOPICS)
    )
    kb_search.add_argument("--lang", choices=["en", "ru"], help="only this language")
    kb_search.add_argument("--format", choices=["table", "json"], default="table")
    kb.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """`csm kb index|search`."""
    from agent.interfaces.passages import write_passages

    if args.kb_command is None:
        raise CliError("say what to do: `csm kb index` or `csm kb search QUERY`.")
    if args.kb_command == "index":
        from tools.knowledge.index import KnowledgeBase, TerminalProgress

        kb = KnowledgeBase()
        report = kb.index(rebuild=args.rebuild, progress=TerminalProgress(where=kb.path))
        if not report.embedded_docs and not report.removed_docs and not args.rebuild:
            print(
                f"knowledge index up to date: {report.unchanged_docs} documents unchanged, "
                f"nothing embedded ({kb.path})."
            )
        else:
            print(
                f"embedded {len(report.embedded_docs)} documents ({report.chunks_embedded} "
                f"chunks), removed {len(report.removed_docs)}, {report.unchanged_docs} "
                f"unchanged, in {report.seconds:.1f}s ({kb.path})."
            )
        return EXIT_OK
    if args.k < 1:
        raise CliError("--k must be at least 1.")
    from tools.knowledge.quick import quick_search

    # a built, current index is searched from its copy, without importing Chroma (quick.py)
    passages = quick_search(args.query, k=args.k, topic=args.topic, lang=args.lang)
    if passages is None:
        from tools.knowledge.index import open_knowledge_base

        passages = open_knowledge_base().search(args.query, k=args.k, topic=args.topic,
                                                lang=args.lang)
    write_passages(passages, args.format, sys.stdout)
    return EXIT_OK


def knowledge_ready() -> None:
    """Build the knowledge index, if it is not whole and current, before a long-running command
    starts its work (with progress on stderr), not inside its first request."""
    from tools.knowledge.index import open_knowledge_base

    open_knowledge_base()
