"""`csm kb search` in a new process without Chroma: the question is answered from the copy of
the current collection's chunks beside the manifest (corpus.py), by the same search as
`KnowledgeBase.search`, when everything that opening the index checks can be checked without
Chroma: the manifest of a finished build, the documents unchanged since, Chroma's database
holding every record of the collection (read with sqlite3), the copy whole. Otherwise the
caller opens the index (which builds or repairs it and writes the copy again). Importing Chroma
alone costs more than the whole search."""

from __future__ import annotations

from tools.knowledge.corpus import read_corpus
from tools.knowledge.documents import KnowledgeError, knowledge_root, load_docs
from tools.knowledge.encoders import LOCAL_CONFIG, LOCAL_MODELS, embedding_setting
from tools.knowledge.layout import (
    chroma_count,
    doc_version,
    knowledge_dir,
    manifest_path,
    read_manifest,
)
from tools.knowledge.passage import Passage


def quick_search(
    query: str, k: int = 5, topic: str | None = None, lang: str | None = None
) -> list[Passage] | None:
    """The passages the default knowledge base finds for a question, read without Chroma, or
    None when they cannot be (no index yet or a stale one, an embedding function that is no
    local model, no copy of the collection): then open the index (`open_knowledge_base`)."""
    model = LOCAL_MODELS.get(embedding_setting())
    if model is None:
        return None
    path = knowledge_dir()
    manifest = read_manifest(manifest_path(path, model.name))
    if manifest is None:
        return None
    try:
        docs = load_docs(knowledge_root())
    except KnowledgeError:
        return None  # opening the index names the fault
    wanted = {doc.source: doc_version(doc.sha, model.name, LOCAL_CONFIG) for doc in docs}
    collection, chunks = str(manifest.get("collection", "")), manifest.get("chunks", -1)
    if manifest.get("docs") != wanted or chroma_count(path, collection) != chunks:
        return None  # as `KnowledgeBase.check`: stale, or Chroma lost the collection or a part
    corpus = read_corpus(path, collection, chunks)
    if corpus is None:
        return None
    encoder = model()
    return corpus.search(query, lambda text: encoder.queries([text])[0], k, topic, lang)
