"""Knowledge base: documents, chunking, incremental indexing and search (temporary Chroma)."""

import shutil

import pytest

from tools.kb_docs import TOPICS, KnowledgeError, chunk_doc, knowledge_root, load_docs, parse_doc
from tools.knowledge import KnowledgeBase

DOC = """---
topic: qbr
lang: en
title: QBR
---

# Quarterly business review

Intro text.

## Agenda

```
# not a heading
```

### Executive summary

Ten minutes of wins.
"""


def test_parse_and_chunk_keep_heading_path():
    doc = parse_doc(DOC, "en/qbr.md")
    assert (doc.topic, doc.lang, doc.title) == ("qbr", "en", "QBR")
    chunks = chunk_doc(doc)
    assert [c.heading for c in chunks] == [
        "Quarterly business review",
        "Quarterly business review > Agenda",
        "Quarterly business review > Agenda > Executive summary",
    ]
    assert "# not a heading" in chunks[1].text  # code fences are not split
    assert chunks[2].embedding_text().startswith("Quarterly business review > Agenda > Exec")


def test_long_sections_are_split_on_paragraphs():
    body = "\n\n".join(f"Paragraph {i} " + "word " * 60 for i in range(10))
    doc = parse_doc(f"---\ntopic: qbr\nlang: en\ntitle: T\n---\n# T\n\n{body}\n", "en/t.md")
    chunks = chunk_doc(doc, limit=800)
    assert len(chunks) > 1 and all(len(c.text) <= 800 for c in chunks)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("# no front matter", "no front matter"),
        ("---\ntopic: qbr\nlang: de\ntitle: T\n---\n", "lang 'de'"),
        ("---\ntopic: qbr\nlang: en\n---\n", "lacks title"),
    ],
)
def test_bad_documents_are_named(text, message):
    with pytest.raises(KnowledgeError, match=message):
        parse_doc(text, "en/x.md")


def test_bundled_knowledge_base_has_every_topic_in_both_languages():
    docs = load_docs()
    topics = set(TOPICS)
    for lang in ("en", "ru"):
        assert {d.topic for d in docs if d.lang == lang} == topics
    for doc in docs:
        assert doc.source == f"{doc.lang}/{doc.topic}.md"
        assert len(doc.body.split()) >= 500, f"{doc.source} is too thin"


@pytest.fixture()
def small_root(tmp_path):
    """Two topics in two languages, copied from the bundled knowledge base."""
    root = tmp_path / "kb"
    for lang in ("en", "ru"):
        (root / lang).mkdir(parents=True)
        for topic in ("early_warning", "qbr"):
            shutil.copy(knowledge_root() / lang / f"{topic}.md", root / lang / f"{topic}.md")
    return root


def test_incremental_index(small_root, tmp_path):
    kb = KnowledgeBase(path=tmp_path / "index", root=small_root)
    first = kb.index()
    assert len(first.embedded_docs) == 4 and first.chunks_embedded > 8
    again = kb.index()
    assert again.embedded_docs == [] and again.unchanged_docs == 4
    # a changed document is re-embedded alone; a removed one is deleted
    qbr = small_root / "en" / "qbr.md"
    extra = "\n## Extra\n\nA new note.\n"
    qbr.write_text(qbr.read_text(encoding="utf-8") + extra, encoding="utf-8")
    (small_root / "ru" / "qbr.md").unlink()
    changed = kb.index()
    assert changed.embedded_docs == ["en/qbr.md"] and changed.removed_docs == ["ru/qbr.md"]
    sources = {m["source"] for m in kb.collection.get(include=["metadatas"])["metadatas"]}
    assert sources == {"en/early_warning.md", "ru/early_warning.md", "en/qbr.md"}
    # reopening the persistent collection works (the embedding function is registered)
    reopened = KnowledgeBase(path=tmp_path / "index", root=small_root)
    assert reopened.index().embedded_docs == []
    assert len(reopened.index(rebuild=True).embedded_docs) == 3


def test_search_filters_and_crosses_languages(small_root, tmp_path):
    kb = KnowledgeBase(path=tmp_path / "index", root=small_root)
    hits = kb.search("what do we do when a client stops logging in?", k=3)
    assert hits[0].topic == "early_warning" and hits[0].lang == "en"
    assert {"topic", "lang", "source", "heading", "text", "score"} <= set(hits[0].model_dump())
    russian = kb.search("что делать, если клиент перестал заходить в кабинет?", k=3)
    assert russian[0].topic == "early_warning" and russian[0].lang == "ru"
    crossed = kb.search("how should the hour of a quarterly business review be split?", lang="ru")
    assert crossed[0].topic == "qbr" and all(p.lang == "ru" for p in crossed)
    only = kb.search("anything", k=10, topic="qbr", lang="en")
    assert only and {(p.topic, p.lang) for p in only} == {("qbr", "en")}
    assert kb.search("   ") == []
