"""Account ids to file names: readable when safe, a slug with a hash otherwise, never a path."""

import hashlib
import os

import pytest

from agent.sweeps.sweep import write_report
from tools.filenames import UnsafePath, file_stem, inside, is_readable, report_name

HOSTILE = [
    "/etc/x", "../x", "../../x", "a/b", "a\\b", "x" * 300, "CON", "con", "con.txt", "nul.tar.gz",
    "COM1", "lpt9.log", ".", "..", "...", ".hidden", "-rf", "ends.", "Acme", "ACME",
    "Ромашка", "new\nline", "nul\x00\x01char", "tab\there", "~x", "a b", "a:b", "a*b?", "",
]


@pytest.mark.parametrize("account_id", ["acc-007", "a", "0", "c.12", "x_y-z.w", "a" * 80,
                                        "console", "com10", "lpt", "auxiliary.x"])
def test_safe_ids_stay_readable(account_id):
    assert is_readable(account_id)
    assert file_stem(account_id) == account_id


@pytest.mark.parametrize("account_id", HOSTILE)
def test_other_ids_get_a_slug_and_a_hash(account_id):
    stem = file_stem(account_id)
    slug, mark, digest = stem.rpartition("~")
    assert mark == "~" and digest == hashlib.sha256(account_id.encode()).hexdigest()[:10]
    assert slug and len(slug) <= 40 and not slug.startswith((".", "-")) and not slug.endswith(".")
    assert set(stem) <= set("abcdefghijklmnopqrstuvwxyz0123456789._-~")


def test_examples_are_stable():
    # fixed values: a change of the rule renames every report file, so it must be deliberate
    assert file_stem("Acme Corp") == "acme-corp~" + hashlib.sha256(b"Acme Corp").hexdigest()[:10]
    assert file_stem("../x").startswith("x~")
    assert file_stem("..").startswith("account~")
    assert file_stem("con.txt").startswith("con.txt~")
    assert file_stem("Ромашка").startswith("account~")
    assert file_stem("x" * 300) == "x" * 40 + "~" + hashlib.sha256(b"x" * 300).hexdigest()[:10]
    assert report_name("acc-007", "ru") == "acc-007.ru.md"


def test_names_are_unique_also_when_case_is_ignored():
    ids = [*HOSTILE, "acme", "acme~0123456789", "acc-007", "Acc-007", "ACC-007", "a/b ", "a-b",
           "a_b"]
    stems = [file_stem(i) for i in ids]
    assert len({s.lower() for s in stems}) == len(set(ids))
    assert all(s == s.lower() for s in stems)
    # a readable id can never look like a hashed name: `~` is outside the readable alphabet
    assert not is_readable("acme~0123456789")


def test_inside_refuses_anything_but_a_plain_name_in_the_folder(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    assert inside(folder, "a.en.md") == folder.resolve() / "a.en.md"
    for name in ["", ".", "..", "../x", "a/b", "a\\b", "/etc/passwd", "x\0y"]:
        with pytest.raises(UnsafePath):
            inside(folder, name)
    outside = tmp_path / "victim"
    outside.mkdir()
    os.symlink(outside / "planted", folder / "evil.en.md")
    with pytest.raises(UnsafePath, match="outside"):
        write_report(folder, "evil.en.md", "text")
    assert not (outside / "planted").exists()
    assert write_report(folder, "ok.en.md", "text").read_text("utf-8") == "text"
    assert sorted(p.name for p in folder.iterdir()) == ["evil.en.md", "ok.en.md"]
