"""Knowledge base: documents, chunking, an index that is whole or rebuilt, search, the thread
cap of the embedding model (temporary Chroma folders; the session's index where tests only
search)."""

import io
import json
import shutil
import threading

import pytest

import tools.knowledge.index as knowledge
from agent.interfaces.cli import main
from tools.knowledge.documents import (
    LANGS,
    TOPICS,
    KnowledgeError,
    chunk_doc,
    knowledge_root,
    load_docs,
    parse_doc,
)
from tools.knowledge.embeddings import EmbeddingError, UseEmbedding, embed_threads
from tools.knowledge.index import KnowledgeBase, TerminalProgress, open_knowledge_base

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


def copy_root(target, topics, langs=LANGS):
    """A knowledge folder with some of the bundled documents."""
    for lang in langs:
        (target / lang).mkdir(parents=True)
        for topic in topics:
            shutil.copy(knowledge_root() / lang / f"{topic}.md", target / lang / f"{topic}.md")
    return target


@pytest.fixture()
def small_root(tmp_path):
    """Two topics in two languages, copied from the bundled knowledge base."""
    return copy_root(tmp_path / "kb", ("early_warning", "qbr"))


def segment_dirs(kb):
    return {p.name for p in kb.path.iterdir() if p.is_dir()}


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
    # the previous collection and its files are gone: one collection, one vector folder
    assert kb._builds() == [kb.collection.name] and len(segment_dirs(kb)) == 1
    # reopening the persistent collection works (the embedding function is registered)
    reopened = KnowledgeBase(path=tmp_path / "index", root=small_root)
    assert reopened.check() is None and reopened.index().embedded_docs == []
    assert len(reopened.index(rebuild=True).embedded_docs) == 3


def test_opening_a_stale_index_re_embeds_only_the_changed_document(small_root, tmp_path):
    KnowledgeBase(path=tmp_path / "index", root=small_root).index()
    qbr = small_root / "ru" / "qbr.md"
    qbr.write_text(qbr.read_text(encoding="utf-8") + "\n## Итог\n\nКоротко.\n", "utf-8")
    reopened = KnowledgeBase(path=tmp_path / "index", root=small_root)
    assert reopened.check() == "the knowledge documents changed"
    report = reopened.ensure_index()
    assert report.embedded_docs == ["ru/qbr.md"] and report.unchanged_docs == 3
    assert reopened.search("Итог", k=1, topic="qbr", lang="ru")[0].heading.endswith("Итог")


def test_an_interrupted_build_is_detected_rebuilt_and_cleaned_up(tmp_path, monkeypatch):
    """The reported fault: a build stopped after 7 of 30 documents was kept for good and a
    search for upsell found nothing. Now the next open rebuilds and every topic is found."""

    class Interrupted(Exception):
        pass

    def stop_after_seven(done, total, note):
        if done == 7:
            raise Interrupted(note)

    first = KnowledgeBase(path=tmp_path / "index")
    # as if the process died at once: no clean-up of the partial collection either
    monkeypatch.setattr(first.client, "delete_collection", lambda name: None)
    with pytest.raises(Interrupted):
        first.ensure_index(progress=stop_after_seven)
    monkeypatch.undo()
    assert not first.manifest_path.exists() and first.collection is None
    [partial] = first._builds()
    assert 0 < first.client.get_collection(partial).count()

    reopened = KnowledgeBase(path=tmp_path / "index")
    assert reopened.check() == "the last build did not finish"
    notes = []
    report = reopened.ensure_index(progress=lambda done, total, note: notes.append(note))
    assert notes[0] == "the last build did not finish" and len(report.embedded_docs) == 30
    for topic in TOPICS:
        for lang in LANGS:
            assert reopened.search(topic.replace("_", " "), k=1, topic=topic, lang=lang)
    assert reopened.search("when should we propose an upsell?", k=3)[0].topic == "upsell"
    # the partial build and its vector files are gone
    assert reopened._builds() == [reopened.collection.name] and len(segment_dirs(reopened)) == 1
    manifest = json.loads(reopened.manifest_path.read_text("utf-8"))
    assert manifest["chunks"] == reopened.collection.count() == sum(
        len(chunk_doc(doc)) for doc in load_docs()
    )
    assert KnowledgeBase(path=tmp_path / "index").ensure_index() is None  # whole: kept


def test_a_damaged_manifest_or_collection_is_rebuilt(small_root, tmp_path):
    kb = KnowledgeBase(path=tmp_path / "index", root=small_root)
    kb.index()
    kb.collection.delete(ids=[kb.collection.get(limit=1)["ids"][0]])
    assert KnowledgeBase(path=tmp_path / "index", root=small_root).check() == (
        "the index is incomplete"
    )
    kb.manifest_path.write_text('{"format": 1, "collec', encoding="utf-8")  # a torn write
    again = KnowledgeBase(path=tmp_path / "index", root=small_root)
    assert again.check() == "the last build did not finish"
    assert len(again.ensure_index().embedded_docs) == 4 and again.check() is None


def test_an_index_from_before_manifests_is_replaced(small_root, tmp_path):
    """An index written by the earlier code (one collection, no manifest) may be partial."""
    kb = KnowledgeBase(path=tmp_path / "index", root=small_root)
    legacy = kb.client.create_collection(
        kb.name, embedding_function=kb.embedding, configuration={"hnsw": {"space": "cosine"}}
    )
    [doc] = [d for d in load_docs(small_root) if d.source == "en/qbr.md"]
    chunks = chunk_doc(doc)
    legacy.add(ids=[c.id for c in chunks], documents=[c.embedding_text() for c in chunks],
               metadatas=[{"topic": c.topic, "lang": c.lang, "source": c.source,
                           "heading": c.heading, "version": "old"} for c in chunks])
    assert kb.check() == "the last build did not finish"
    assert len(kb.ensure_index().embedded_docs) == 4
    assert kb._builds() == [kb.collection.name] != [kb.name]
    assert {p.topic for p in kb.search("client stopped logging in", k=10)} == {
        "early_warning", "qbr"
    }


def test_concurrent_opens_build_once(small_root, tmp_path):
    bases = [KnowledgeBase(path=tmp_path / "index", root=small_root) for _ in range(2)]
    reports = []
    threads = [threading.Thread(target=lambda kb=kb: reports.append(kb.ensure_index()))
               for kb in bases]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r is None for r in reports) == [False, True]
    assert bases[0]._builds() == [bases[0].collection.name] == [bases[1].collection.name]


def test_progress_goes_to_the_terminal_in_place_and_to_logs_in_two_lines():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    for stream in (Terminal(), io.StringIO()):
        progress = TerminalProgress(stream)
        for done, note in enumerate(["first use", "en/a.md", "en/b.md", "ru/a.md"]):
            progress(done, 3, note)
        text = stream.getvalue().replace("\x1b[K", "")
        assert text.startswith("csm: building the knowledge index (first use), 3 documents")
        assert text.rstrip().endswith("csm: knowledge index built: 3 documents in 0.0 s")
        assert ("2/3 documents (en/b.md)" in text) is isinstance(stream, Terminal)
        assert text.count("\n") == 2 and text.count("\r") == (
            3 if isinstance(stream, Terminal) else 0
        )


def test_the_in_process_cache_is_keyed_by_index_and_documents(tmp_path, monkeypatch):
    """search_knowledge keeps one open index per folder and documents: a test (or a process)
    that points elsewhere never gets another index's answers."""
    qbr_root = copy_root(tmp_path / "a", ("qbr",), ("en",))
    upsell_root = copy_root(tmp_path / "b", ("upsell",), ("en",))
    question = "what should we bring to the client?"
    found, opened = [], []
    for index, root in (("a", qbr_root), ("b", upsell_root), ("a", qbr_root)):
        monkeypatch.setenv("CSM_KNOWLEDGE_DIR", str(tmp_path / f"index-{index}"))
        monkeypatch.setattr(knowledge, "knowledge_root", lambda root=root: root)
        found.append({p.topic for p in knowledge.search_knowledge(question, k=10)})
        opened.append(open_knowledge_base())
    assert found == [{"qbr"}, {"upsell"}, {"qbr"}]
    assert opened[0] is opened[2] and opened[0] is not opened[1]


def test_mcp_builds_the_index_before_it_serves(small_root, tmp_path, monkeypatch, capsys):
    from agent.interfaces import mcp_server

    monkeypatch.setenv("CSM_KNOWLEDGE_DIR", str(tmp_path / "index"))
    monkeypatch.setattr(knowledge, "knowledge_root", lambda: small_root)
    states = []

    def serve(self, transport, **options):
        states.append(KnowledgeBase(path=tmp_path / "index", root=small_root).check())

    monkeypatch.setattr(mcp_server.MCPServer, "run", serve)
    assert mcp_server.main("stdio") == 0
    assert states == [None]  # whole and current before the first request could arrive
    assert "building the knowledge index (first use), 4 documents" in capsys.readouterr().err


def test_a_long_running_command_builds_the_index_first(small_root, tmp_path, monkeypatch,
                                                       capsys):
    monkeypatch.setenv("CSM_KNOWLEDGE_DIR", str(tmp_path / "index"))
    monkeypatch.setattr(knowledge, "knowledge_root", lambda: small_root)
    code = main(["assess", "--account", "acc-037", "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert err.index("building the knowledge index (first use)") < err.index("index built")
    cited = {c["topic"] for c in json.loads(out)["citations"]}
    assert cited and cited <= {"early_warning", "qbr"}


@pytest.mark.parametrize("setting", [None, "2"])
def test_the_embedding_model_runs_on_the_configured_threads(setting, monkeypatch):
    from threadpoolctl import threadpool_info

    if setting is None:
        monkeypatch.delenv("CSM_EMBED_THREADS", raising=False)
    else:
        monkeypatch.setenv("CSM_EMBED_THREADS", setting)
    embedding = UseEmbedding()
    outside = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
    inside = []
    real = embedding._model.encode

    def spy(texts):
        inside.extend(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas")
        return real(texts)

    monkeypatch.setattr(embedding._model, "encode", spy)
    assert len(embedding(["when is the renewal?"])[0]) == 512
    wanted = 1 if setting is None else min(2, max(outside))
    assert inside and set(inside) == {wanted}
    assert set(outside) == {wanted}  # the whole process, not only the model's calls (issue 15)
    assert [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"] == outside


@pytest.mark.parametrize("value", ["0", "two", "-1", "1.5"])
def test_a_bad_thread_setting_is_named(value, monkeypatch):
    monkeypatch.setenv("CSM_EMBED_THREADS", value)
    with pytest.raises(EmbeddingError, match=f"CSM_EMBED_THREADS='{value}' is not a whole"):
        embed_threads()


def test_a_bad_thread_setting_is_one_sentence_even_with_the_index_open(
    small_root, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("CSM_KNOWLEDGE_DIR", str(tmp_path / "index"))
    monkeypatch.setattr(knowledge, "knowledge_root", lambda: small_root)
    assert main(["kb", "search", "renewal"]) == 0  # opened (and kept) with the default
    capsys.readouterr()
    monkeypatch.setenv("CSM_EMBED_THREADS", "0")
    assert main(["kb", "search", "renewal"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "CSM_EMBED_THREADS='0'" in err and "1 or more" in err
