"""csm-agent: the LangGraph graphs, the writer and the command line."""

from typing import Any


def build_graph(checkpointer: Any = "memory") -> Any:
    """The compiled six-step assessment graph (see agent.assessment.graph)."""
    from agent.assessment.graph import build_graph as build

    return build(checkpointer)


__all__ = ["build_graph"]
