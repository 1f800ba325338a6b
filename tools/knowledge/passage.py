"""A retrieved passage, and the precomputed answers of a sweep: light modules (no Chroma, no
embedding model), so a sweep's workers answer the playbook's own questions without either."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

Question = tuple[str, int, "str | None", "str | None"]
"""A search as (query, k, topic, lang)."""


class Passage(BaseModel):
    """A retrieved section of the knowledge base."""

    topic: str
    lang: str
    source: str
    heading: str
    text: str
    score: float


class Answers:
    """A search function (the signature of `search_knowledge`) that answers the questions it
    was given the passages of, and any other question by `fallback` (default: the knowledge
    base, opened on the first such question)."""

    def __init__(
        self, passages: dict[Question, list[Passage]], fallback: Callable[..., Any] | None = None
    ) -> None:
        self.passages = passages
        self.fallback = fallback

    def __call__(
        self, query: str, k: int = 5, topic: str | None = None, lang: str | None = None
    ) -> list[Passage]:
        found = self.passages.get((query, k, topic, lang))
        if found is not None:
            return list(found)
        if self.fallback is None:
            from tools.knowledge.index import search_knowledge

            self.fallback = search_knowledge
        return list(self.fallback(query, k=k, topic=topic, lang=lang))
