"""The `csm score` table a CSM reads (issue 14): riskiest first by default (`--sort`), within
80 columns unless `--wide`, signals by their playbook labels, a footer that explains the scores
resting on part of their inputs; with colours (rich) the same text."""

from __future__ import annotations

import re

from agent.interfaces.cli import main
from agent.interfaces.commands.score import SORTS
from agent.interfaces.score_table import SORTS as TABLE_SORTS
from tools.playbook import load_playbook

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _score(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["score", "--as-of", "2026-11-20", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def _body(out: str) -> list[str]:
    """The table's rows (after the rule under the header, before the footer)."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if set(line) == {"─"}) + 1
    end = next(i for i, line in enumerate(lines) if line.startswith("Churn risk: "))
    return lines[start:end]


def _first_cells(out: str, column: int) -> list[str]:
    """Each account's cell in a column (the rows' first lines, split at two spaces)."""
    return [re.split(r"\s{2,}", line.strip())[column] for line in _body(out)
            if not line.startswith(" ")]


def test_riskiest_first_within_80_columns_with_labels_and_a_footer(capsys):
    code, out, _ = _score(capsys)
    assert code == 0
    assert out.startswith("Portfolio as of 2026-11-20: 40 accounts, riskiest first\n")
    assert max(len(line) for line in out.splitlines()) <= 80
    risks = [float(cell.split()[0]) for cell in _first_cells(out, 2)]
    assert len(risks) == 40 and risks == sorted(risks, reverse=True)
    playbook = load_playbook()
    _, wide, _ = _score(capsys, "--wide")
    for text in (out, wide):
        assert not any(signal_id in text for signal_id in playbook.signals)  # no code names
    assert "Support spike" in wide and "Performance plateau" in wide
    assert "Coverage h/c" not in out
    assert "Churn risk: critical 3, high 5, medium 7, low 25." in out
    assert "Health: red 8, yellow 9, green 23." in out
    marked = [line for line in _body(out) if "*" in line]
    assert len(marked) == 4  # the sample's four accounts with an input unknown
    assert "* 4 of 40 scores rest on part of their inputs" in out


def test_each_sort_orders_the_rows(capsys):
    for sort in SORTS:
        code, out, _ = _score(capsys, "--sort", sort)
        assert code == 0
        if sort == "health":
            values = [float(cell.split()[0]) for cell in _first_cells(out, 3)]
            assert values == sorted(values)
        elif sort == "upsell":
            values = [0 if cell == "—" else float(cell.replace(",", ""))
                      for cell in _first_cells(out, 5)]
            assert values == sorted(values, reverse=True)
        elif sort == "id":
            ids = _first_cells(out, 0)
            assert ids == sorted(ids) and ids[0] == "acc-001"
    assert tuple(TABLE_SORTS) == SORTS


def test_wide_keeps_every_cell_on_one_line(capsys):
    _, narrow, _ = _score(capsys)
    code, wide, _ = _score(capsys, "--wide")
    assert code == 0 and max(map(len, wide.splitlines())) > 80
    assert len(_body(wide)) < len(_body(narrow))  # fewer wrapped names and signals
    assert "Dobrye Ruki Foundation" in wide


def test_colours_draw_the_same_text(capsys, monkeypatch):
    """With colours forced (as in a terminal), rich draws the table: the same characters."""
    _, plain, _ = _score(capsys)
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    monkeypatch.setenv("COLUMNS", "80")
    code, coloured, _ = _score(capsys)
    assert code == 0 and "\x1b[" in coloured
    assert ANSI.sub("", coloured) == plain


def test_sort_and_wide_belong_to_the_table(capsys):
    code, out, err = _score(capsys, "--format", "json", "--sort", "health")
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and "--sort and --wide shape the table" in err
