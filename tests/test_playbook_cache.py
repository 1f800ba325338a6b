"""The bundled playbook and each `--playbook` file as last validated, kept in the data directory
(issue 15): used only for the same bytes and code, ignored when stale, damaged or unsafe, never
needed to run."""

from __future__ import annotations

import hashlib
import os
import pickle
import shutil
import sys
import types
from pathlib import Path

import pytest

import tools.playbook
from agent.interfaces.cli import main
from tools.model_cache import FORMAT, cache_key, read_cached, write_cache
from tools.playbook import Playbook, PlaybookError, default_playbook_path, load_playbook


@pytest.fixture()
def bundled(tmp_path, monkeypatch):
    """A copy of the bundled playbook standing in for it; load_playbook forgets what it read
    before and after (its in-process cache would keep the copy's playbook)."""
    copy = tmp_path / "playbook.yaml"
    shutil.copyfile(default_playbook_path(), copy)
    monkeypatch.setattr(tools.playbook, "default_playbook_path", lambda: copy)
    load_playbook.cache_clear()
    yield copy
    load_playbook.cache_clear()


def _cache() -> Path:
    return Path(os.environ["CSM_DATA_DIR"]) / "cache" / "playbook.pickle"


def _fresh() -> Playbook:
    load_playbook.cache_clear()
    return load_playbook()


def _parses(monkeypatch) -> list[Path]:
    """Record each parse of a playbook file (a cache hit parses none)."""
    parsed: list[Path] = []
    real = tools.playbook._parse

    def parse(file: Path, raw: bytes) -> Playbook:
        parsed.append(file)
        return real(file, raw)

    monkeypatch.setattr(tools.playbook, "_parse", parse)
    return parsed


def test_the_cached_playbook_is_the_validated_one(bundled, monkeypatch):
    parsed = _parses(monkeypatch)
    first = _fresh()
    assert parsed == [bundled] and _cache().is_file()
    second = _fresh()
    assert parsed == [bundled]  # read from the cache, not parsed again
    assert second is not first
    assert second == first == tools.playbook.parse_playbook(
        tools.playbook._load_yaml(bundled.read_text(encoding="utf-8")))
    assert second.model_dump_json() == first.model_dump_json()
    assert second.signals["renewal_window"].label.translations == \
        first.signals["renewal_window"].label.translations


def _edit(file: Path, old: str, new: str) -> None:
    text = file.read_text(encoding="utf-8")
    assert text.count(old) == 1
    file.write_text(text.replace(old, new), encoding="utf-8")


def test_a_changed_playbook_is_read_again(bundled, monkeypatch):
    assert _fresh().forecast.min_history_points == 20
    _edit(bundled, "min_history_points: 20", "min_history_points: 21")
    parsed = _parses(monkeypatch)
    assert _fresh().forecast.min_history_points == 21
    assert parsed == [bundled]
    assert _fresh().forecast.min_history_points == 21 and parsed == [bundled]  # cached anew


def test_a_changed_playbook_that_fails_is_refused_not_taken_from_the_cache(bundled):
    _fresh()
    _edit(bundled, "min_history_points: 20", "min_history_points: 0")
    with pytest.raises(PlaybookError, match="min_history_points"):
        _fresh()


def test_a_custom_playbook_has_its_own_cache_written_again_when_it_changes(
    tmp_path, monkeypatch, capsys
):
    """A `--playbook` file is kept in its own cache file (one per path, beside the bundled
    one's); an edit is read again, an edit that fails is refused every time, and the warnings
    of a cached playbook are still printed."""
    custom = tmp_path / "mine.yaml"
    shutil.copyfile(default_playbook_path(), custom)
    _edit(custom, "min_history_points: 20", "min_history_points: 22")
    parsed = _parses(monkeypatch)
    load_playbook.cache_clear()
    assert load_playbook(custom).forecast.min_history_points == 22 and parsed == [custom]
    kept = sorted(p.name for p in _cache().parent.glob("playbook-*.pickle"))
    assert len(kept) == 1
    load_playbook.cache_clear()
    assert load_playbook(custom).forecast.min_history_points == 22 and parsed == [custom]
    load_playbook.cache_clear()
    load_playbook()  # the bundled playbook is not the custom one
    assert load_playbook().forecast.min_history_points == 20
    _edit(custom, "min_history_points: 22", "min_history_points: 23")
    load_playbook.cache_clear()
    assert load_playbook(custom).forecast.min_history_points == 23
    assert parsed.count(custom) == 2
    _edit(custom, "min_history_points: 23", "min_history_points: 0")
    for _ in range(2):
        load_playbook.cache_clear()
        with pytest.raises(PlaybookError, match="min_history_points"):
            load_playbook(custom)
    _edit(custom, "min_history_points: 0", "min_history_points: 20")
    _edit(custom, "input: mrr\n      weight: 25", "input: mrr\n      weight: 26")  # 101: a warning
    for _ in range(2):
        load_playbook.cache_clear()
        assert main(["score", "--playbook", str(custom), "--format", "csv"]) == 0
        assert "the weights add up to 101" in capsys.readouterr().err
    assert sorted(p.name for p in _cache().parent.glob("playbook-*.pickle")) == kept
    load_playbook.cache_clear()


def test_the_key_follows_the_bytes_and_the_code(tmp_path):
    source = tmp_path / "validator.py"
    source.write_text("RULE = 1\n", encoding="utf-8")
    code = types.ModuleType("validator")
    code.__file__ = str(source)
    key = cache_key(b"playbook", [code])
    assert cache_key(b"playbook", [code]) == key
    assert cache_key(b"playbook ", [code]) != key
    source.write_text("RULE = 2\n", encoding="utf-8")
    assert cache_key(b"playbook", [code]) != key
    source.unlink()
    with pytest.raises(OSError):
        cache_key(b"playbook", [code])


def test_a_cache_of_other_code_is_not_used(bundled, monkeypatch):
    _fresh()
    parsed = _parses(monkeypatch)
    monkeypatch.setattr(sys.modules["pydantic"], "VERSION", "0.0-other")
    _fresh()
    assert parsed == [bundled]


def _rewrite(payload: bytes, key: bytes | None = None) -> None:
    """Replace the cached pickle, keeping the key and with a matching checksum."""
    old = _cache().read_bytes().split(b"\n", 3)
    checksum = hashlib.sha256(payload).hexdigest().encode()
    _cache().write_bytes(FORMAT + (key or old[1]) + b"\n" + checksum + b"\n" + payload)


class _Trap:
    def __reduce__(self):
        return (os.system, ("touch trapped",))


@pytest.mark.parametrize("damage", [
    "empty", "garbage", "truncated", "flipped byte", "no checksum", "not pickle",
    "another class", "a model of another kind", "a function call",
])
def test_a_damaged_or_foreign_cache_is_ignored_and_replaced(bundled, monkeypatch, damage,
                                                            tmp_path):
    expected = _fresh()
    blob = _cache().read_bytes()
    if damage == "empty":
        _cache().write_bytes(b"")
    elif damage == "garbage":
        _cache().write_bytes(os.urandom(500))
    elif damage == "truncated":
        _cache().write_bytes(blob[: len(blob) // 2])
    elif damage == "flipped byte":
        _cache().write_bytes(blob[:-50] + bytes([blob[-50] ^ 1]) + blob[-49:])
    elif damage == "no checksum":
        _cache().write_bytes(blob.replace(blob.split(b"\n")[2], b"0" * 64))
    elif damage == "not pickle":
        _rewrite(b"\x80\x05not a pickle at all")
    elif damage == "another class":
        _rewrite(pickle.dumps({"version": "1"}, protocol=5))
    elif damage == "a model of another kind":
        _rewrite(pickle.dumps(expected.reports, protocol=5))
    else:
        monkeypatch.chdir(tmp_path)
        _rewrite(pickle.dumps(_Trap(), protocol=5))
    parsed = _parses(monkeypatch)
    assert _fresh() == expected
    assert parsed == [bundled]
    assert not (tmp_path / "trapped").exists()
    assert _cache().read_bytes() == blob  # written again, whole


def test_an_unwritable_cache_only_costs_time(bundled, monkeypatch, tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("", encoding="utf-8")
    monkeypatch.setenv("CSM_DATA_DIR", str(blocker))  # not a directory: no cache, no error
    parsed = _parses(monkeypatch)
    assert _fresh() == _fresh()
    assert parsed == [bundled, bundled]
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "cache").write_text("", encoding="utf-8")  # the cache's folder: a file
    monkeypatch.setenv("CSM_DATA_DIR", str(tmp_path / "data"))
    _fresh()
    assert parsed == [bundled] * 3
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["cache"]


def test_csm_score_runs_with_a_data_directory_that_is_a_file(tmp_path, monkeypatch, capsys):
    load_playbook.cache_clear()
    assert main(["score", "--format", "csv"]) == 0
    expected = capsys.readouterr()
    blocker = tmp_path / "blocker"
    blocker.write_text("", encoding="utf-8")
    monkeypatch.setenv("CSM_DATA_DIR", str(blocker))
    load_playbook.cache_clear()
    assert main(["score", "--format", "csv"]) == 0
    assert capsys.readouterr() == expected
    load_playbook.cache_clear()


def test_read_cached_names_its_classes(tmp_path, playbook):
    path = tmp_path / "cache.pickle"
    write_cache(path, b"k" * 64, playbook)
    assert read_cached(path, b"k" * 64, Playbook, []) is None  # no class allowed: nothing made
    assert read_cached(path, b"j" * 64, Playbook, [Playbook]) is None  # another key
