"""The agent-eval tasks (tasks.yaml): a question in English or Russian, the tool calls it needs
(name and arguments), what a right answer holds, and the scripted model's answer.

A reference (`Ref`) points into the result of one expected call: `"churn_risk.score"` (the first
call) or `"1:churn_risk.score"` (the second); a `*` segment takes every element of a list. The
grader computes the expected values by running the expected calls itself, so no figure is
written in the task file."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from agent.chat.tool_surface import READ_TOOLS


class Call(BaseModel):
    """A tool call: its name and the arguments that matter (the others take their defaults)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    args: dict[str, Any] = Field(default_factory=dict)
    match: list[str] | None = None  # the arguments compared (default: all of `args`)

    @field_validator("name")
    @classmethod
    def _known(cls, name: str) -> str:
        if name not in READ_TOOLS:
            raise ValueError(f"unknown tool '{name}'; use one of {', '.join(READ_TOOLS)}")
        return name


class Ref(BaseModel):
    """A value in the result of expected call `call`, at `path`."""

    call: int = 0
    path: str

    @classmethod
    def parse(cls, text: str) -> Ref:
        call, _, path = text.rpartition(":")
        return cls(call=int(call) if call else 0, path=path)


class Expect(BaseModel):
    """What a right answer contains."""

    model_config = ConfigDict(extra="forbid")

    ids: list[str] = Field(default_factory=list)  # account ids, as written
    ids_from: list[Ref] = Field(default_factory=list)  # account ids read from the results
    numbers: list[Ref] = Field(default_factory=list)  # figures read from the results
    cites: bool = False  # names a `source` of the search_knowledge results it was given
    no_numbers: bool = False  # no figure at all (an unknown account, say)

    @field_validator("ids_from", "numbers", mode="before")
    @classmethod
    def _refs(cls, value: Any) -> Any:
        return [Ref.parse(v) if isinstance(v, str) else v for v in value or []]


class Task(BaseModel):
    """One chat task."""

    model_config = ConfigDict(extra="forbid")

    id: str
    lang: Literal["en", "ru"]
    question: str = Field(min_length=1)
    calls: list[Call]
    expect: Expect
    answer: str = Field(min_length=1)  # the scripted model's answer: {N:path} placeholders


@lru_cache(maxsize=1)
def load_tasks() -> tuple[Task, ...]:
    """The bundled tasks (evals/agent/tasks.yaml)."""
    text = resources.files("evals.agent").joinpath("tasks.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    return tuple(Task.model_validate(item) for item in data["tasks"])


def values_at(data: Any, path: str) -> list[Any]:
    """The values at a dotted path (`accounts.*.id`, `results.0.source`); [] when it leads
    nowhere."""
    found = [data]
    for segment in path.split(".") if path else []:
        step: list[Any] = []
        for item in found:
            if segment == "*" and isinstance(item, list):
                step.extend(item)
            elif isinstance(item, dict) and segment in item:
                step.append(item[segment])
            elif isinstance(item, list) and segment.isdigit() and int(segment) < len(item):
                step.append(item[int(segment)])
        found = step
    return found
