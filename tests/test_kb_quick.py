"""`csm kb search` without Chroma (tools/knowledge/quick.py): the passages the index finds, from
the copy of its collection, and the index itself whenever that copy cannot be trusted."""

import json
import subprocess
import sys

import pytest

import tools.knowledge.index as knowledge
import tools.knowledge.layout as layout
import tools.knowledge.quick as quick
from agent.interfaces.cli import main
from tests.test_knowledge import copy_root
from tools.knowledge.index import KnowledgeBase, open_knowledge_base
from tools.knowledge.quick import quick_search

QUESTION = "what do we do when a client stops logging in?"
SEARCHES = [
    (QUESTION, {}),
    (QUESTION, {"k": 10, "lang": "ru"}),
    ("что делать, если клиент перестал заходить в кабинет?", {"k": 3}),
    ("как провести QBR", {"lang": "ru", "topic": "qbr", "k": 2}),
    ("renewal 90 days before the end of the contract", {"lang": "en", "k": 1}),
    ("xyzzy plugh", {"k": 4}),
    ("   ", {}),
]


def corpus_copies(path):
    return sorted(p.name for p in path.glob("corpus-*.json"))


@pytest.mark.parametrize(("query", "filters"), SEARCHES)
def test_the_copy_finds_what_the_index_finds(query, filters):
    kb = open_knowledge_base()
    expected = kb.search(query, **filters)  # and the copy is written if it was missing
    assert corpus_copies(kb.path) == [f"corpus-{kb.collection.name}.json"]
    assert quick_search(query, **filters) == expected  # scores too, to the last digit


@pytest.fixture
def private_index(tmp_path, monkeypatch):
    """An index of two topics in its own folder, for both ways of opening it."""
    root = copy_root(tmp_path / "kb", ("early_warning", "qbr"))
    monkeypatch.setenv("CSM_KNOWLEDGE_DIR", str(tmp_path / "index"))
    monkeypatch.setattr(knowledge, "knowledge_root", lambda: root)
    monkeypatch.setattr(quick, "knowledge_root", lambda: root)
    return root, tmp_path / "index"


def test_no_copy_is_trusted_that_opening_the_index_would_not(private_index, monkeypatch,
                                                              capsys):
    root, path = private_index
    assert quick_search("renewal") is None  # nothing built yet
    kb = KnowledgeBase(path=path, root=root)
    kb.index()
    [copy] = corpus_copies(path)
    assert copy == f"corpus-{kb.collection.name}.json"
    assert quick_search("renewal", k=3) == kb.search("renewal", k=3)

    (path / copy).write_text('{"format": 1, "collec', encoding="utf-8")  # a torn copy
    assert quick_search("renewal") is None
    assert main(["kb", "search", "renewal"]) == 0  # through Chroma, which writes it again
    assert quick_search("renewal", k=3) == kb.search("renewal", k=3)
    (path / copy).unlink()
    assert quick_search("renewal") is None

    assert main(["kb", "index"]) == 0  # up to date: nothing embedded, the copy written again
    assert corpus_copies(path) == [copy] and quick_search("renewal") is not None
    kb.collection.delete(ids=[kb.collection.get(limit=1)["ids"][0]])  # Chroma lost a record
    assert quick_search("renewal") is None
    capsys.readouterr()
    monkeypatch.setattr(knowledge, "_OPEN", {})  # as in a new process
    assert main(["kb", "search", "renewal"]) == 0  # rebuilt, as `check` says
    assert "the index is incomplete" in capsys.readouterr().err
    [rebuilt] = corpus_copies(path)
    assert rebuilt != copy and quick_search("renewal") is not None

    doc = root / "en" / "qbr.md"
    doc.write_text(doc.read_text(encoding="utf-8") + "\nOne more line.\n", encoding="utf-8")
    assert quick_search("renewal") is None  # a changed document
    monkeypatch.setenv("CSM_EMBEDDINGS", "openai:text-embedding-3-small")
    assert quick_search("renewal") is None  # no local model: only Chroma's function embeds


def test_a_rebuild_leaves_only_the_new_collections_copy(private_index):
    root, path = private_index
    kb = KnowledgeBase(path=path, root=root)
    kb.index()
    before = corpus_copies(path)
    kb.index(rebuild=True)
    assert corpus_copies(path) == [f"corpus-{kb.collection.name}.json"] != before


def test_a_bad_thread_setting_is_one_sentence_on_the_quick_path(monkeypatch, capsys):
    open_knowledge_base().search(QUESTION)  # the session's index and its copy
    monkeypatch.setenv("CSM_EMBED_THREADS", "0")
    assert main(["kb", "search", QUESTION]) == 1
    assert "CSM_EMBED_THREADS='0' is not a whole number" in capsys.readouterr().err


PROBE = (
    "import contextlib, io, json, sys\n"
    "from agent.interfaces.cli import main\n"
    "out = io.StringIO()\n"
    "with contextlib.redirect_stdout(out):\n"
    "    code = main(sys.argv[1:])\n"
    "sys.stdout.write(json.dumps([code, sorted(sys.modules), out.getvalue()]))\n"
)


def test_a_new_process_answers_without_importing_chroma(tmp_path, knowledge_index_dir,
                                                        model_cache_dir):
    expected = open_knowledge_base().search(QUESTION, k=3, lang="en")
    done = subprocess.run(
        [sys.executable, "-c", PROBE, "kb", "search", QUESTION, "--k", "3", "--lang", "en",
         "--format", "json"],
        capture_output=True, text=True, check=True,
        env={"PATH": "", "HOME": str(tmp_path), "CSM_DATA_DIR": str(tmp_path / "data"),
             "CSM_KNOWLEDGE_DIR": str(knowledge_index_dir),
             "CSM_CACHE_DIR": str(model_cache_dir)},
    )
    code, modules, out = json.loads(done.stdout)
    assert code == 0 and done.stderr == ""
    assert not {m.split(".")[0] for m in modules} & {"chromadb", "onnxruntime", "httpx"}
    # nor the scores' code: the account model, the readers, the scorers (some 0.1 s)
    assert not set(modules) & {"tools.portfolio.readers", "tools.scoring.score",
                               "agent.interfaces.render"}
    assert json.loads(out)["results"] == [p.model_dump() for p in expected]


def test_a_copy_that_cannot_be_written_is_left_out(private_index, monkeypatch):
    """A full disk or a read-only shared index: the search answers through Chroma, and no copy
    or piece of one is left behind."""
    root, path = private_index
    kb = KnowledgeBase(path=path, root=root)
    kb.index()
    [copy] = corpus_copies(path)
    (path / copy).unlink()

    def full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(layout.os, "fsync", full)
    fresh = KnowledgeBase(path=path, root=root)
    assert fresh.search("renewal", k=3) == kb.search("renewal", k=3) != []
    assert sorted(p.name for p in path.iterdir() if p.is_file()) == [
        "build.lock", "chroma.sqlite3", kb.manifest_path.name]
    assert quick_search("renewal") is None
