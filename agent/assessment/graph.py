"""The six-step assessment as a LangGraph `StateGraph`, one node per step, then the reports.

assess_health -> map_stakeholders -> plan_success -> analyze_expansion -> plan_risk_mitigation
-> forecast -> write_reports. The context (`context.py`), the state (`state.py`) and the nodes
(`nodes.py`) live beside this module; this one wires them and compiles the graph."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, get_type_hints

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from pydantic import BaseModel

from agent.assessment.context import RunSettings
from agent.assessment.nodes import (
    analyze_expansion,
    assess_health,
    forecast_node,
    map_stakeholders_node,
    plan_risk_mitigation,
    plan_success,
    write_reports_node,
)
from agent.assessment.state import FAILED, AssessmentInput, AssessmentState, BatchState, applied

STEPS = (
    "assess_health",
    "map_stakeholders",
    "plan_success",
    "analyze_expansion",
    "plan_risk_mitigation",
    "forecast",
    "write_reports",
)

# the function of each step, in the order of STEPS
NODES = (
    assess_health,
    map_stakeholders_node,
    plan_success,
    analyze_expansion,
    plan_risk_mitigation,
    forecast_node,
    write_reports_node,
)


def _state_models() -> list[type]:
    """Every pydantic class the state holds, so the checkpointer may restore them."""
    seen: list[type] = []

    def visit(kind: Any) -> None:
        for inner in getattr(kind, "__args__", ()) or ():
            visit(inner)
        if isinstance(kind, type) and issubclass(kind, BaseModel) and kind not in seen:
            seen.append(kind)
            for info in kind.model_fields.values():
                visit(info.annotation)

    for annotation in get_type_hints(AssessmentState).values():
        visit(annotation)
    return seen


def checkpoint_serializer() -> JsonPlusSerializer:
    """A serializer that restores the state's own models and nothing else unknown."""
    return JsonPlusSerializer(
        allowed_msgpack_modules=[(k.__module__, k.__name__) for k in _state_models()]
    )


def _chain(graph: StateGraph, nodes: Sequence[Callable[..., Any]]) -> None:
    """The steps as nodes named by STEPS, one after the other from START to END."""
    for name, node in zip(STEPS, nodes, strict=True):
        graph.add_node(name, node)
    graph.add_edge(START, STEPS[0])
    for before, after in zip(STEPS, STEPS[1:], strict=False):
        graph.add_edge(before, after)
    graph.add_edge(STEPS[-1], END)


def build_graph(checkpointer: Any = "memory") -> Any:
    """The compiled six-step graph. `checkpointer`: "memory" (default), None, or a saver."""
    graph = StateGraph(
        AssessmentState,
        context_schema=RunSettings,
        input_schema=AssessmentInput,
        output_schema=AssessmentState,
    )
    _chain(graph, NODES)
    if checkpointer == "memory":
        checkpointer = InMemorySaver(serde=checkpoint_serializer())
    return graph.compile(checkpointer=checkpointer, name="csm-assessment")


def server_graph() -> Any:
    """The graph for `langgraph dev` (the server brings its own checkpointer)."""
    return build_graph(checkpointer=None)


# A sweep's workers assess their accounts a batch at a time: one graph run per batch, its nodes
# the same seven steps, each applied to every account of the batch in turn. LangGraph's own cost
# per run (about 1.4 ms for seven steps, more than a third of the steps' own work) is then paid
# once per batch instead of once per account. The items' state: `state.py` (BatchState).


def _each(step: Callable[..., Any]) -> Callable[[BatchState, Runtime[RunSettings]], BatchState]:
    """A node that applies one step to every item still going; a step that raises stops only
    its own account's assessment."""

    def node(state: BatchState, runtime: Runtime[RunSettings]) -> BatchState:
        items = []
        for item in state["items"]:
            if FAILED not in item:
                try:
                    item = applied(item, step(item, runtime))
                except Exception as error:  # noqa: BLE001 - one account never stops the batch
                    item = {**item, FAILED: error}
            items.append(item)
        return {"items": items}

    return node


def build_batch_graph() -> Any:
    """The seven steps over a batch of accounts (`{"items": [start_item(account), ...]}`), for
    a sweep's workers: no checkpointer; each item comes out as the one-account graph returns
    its state."""
    graph = StateGraph(BatchState, context_schema=RunSettings)
    _chain(graph, [_each(node) for node in NODES])
    return graph.compile(name="csm-assessment-batch")
