"""A retrieved passage: a light module (no Chroma, no embedding model), so that a sweep's workers
hold the precomputed answers of the playbook's own questions without either."""

from __future__ import annotations

from pydantic import BaseModel

Question = tuple[str, int, str | None, str | None]
"""A search as (query, k, topic, lang)."""


class Passage(BaseModel):
    """A retrieved section of the knowledge base."""

    topic: str
    lang: str
    source: str
    heading: str
    text: str
    score: float
