"""csm-agent's agent side: the six-step assessment graph (`assessment/`), the chat agent and its
tools (`chat/`), portfolio sweeps with their store (`sweeps/`) and the interfaces people and
programs use (`interfaces/`); `models.py` configures the language model and `accounts.py` says
which accounts a run reads. docs/architecture.md draws the layers."""

from typing import Any


def build_graph(checkpointer: Any = "memory") -> Any:
    """The compiled six-step assessment graph (see agent.assessment.graph)."""
    from agent.assessment.graph import build_graph as build

    return build(checkpointer)


__all__ = ["build_graph"]
