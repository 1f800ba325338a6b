"""The fast paths of `csm score` (issue 15) write what the per-account scorer and rich write:
JSON from plain data through orjson, CSV rows and table rows from summaries without the
explanations, the table laid out without rich when there are no colours. Each output is compared
byte for byte with the reference built from `score_account` (pydantic models, `model_dump_json`)
and a table rendered by rich alone, on 5,000 generated accounts and on the bundled sample."""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.text import Text

from agent.interfaces.cli import main
from agent.interfaces.commands.score import SORTS
from agent.interfaces.plain_table import (
    Column,
    cell_lines,
    fit_widths,
    rich_table,
    table_lines,
    wrap,
)
from agent.interfaces.render import write_csv
from agent.interfaces.score_table import columns, footer, make_row, sorted_rows, title
from tools.learning.scoring import load_model_for, model_summary, with_model
from tools.playbook import load_playbook
from tools.portfolio.account import Account
from tools.portfolio.fast_accounts import fast_account, shortcut_enabled
from tools.portfolio.readers import (
    read_portfolio,
    sample_portfolio_path,
    write_portfolio,
)
from tools.portfolio.sample import generate_accounts
from tools.scoring.score import score_account

AS_OF = date(2026, 11, 20)


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    """5,000 generated accounts as JSONL, dated so that some values are in the future of the
    scoring day (plausibility warnings), some rows carry unknown keys and some accounts have
    churned (left out of the scores)."""
    path = tmp_path_factory.mktemp("fast") / "accounts.jsonl"
    records = list(generate_accounts(5000, 3, date(2026, 12, 10)))
    for i, record in enumerate(records):
        if i % 97 == 0:
            record["Extra Column"] = i
        if i % 101 == 0:
            record.update(status="churned", churned_on="2026-10-01")
    write_portfolio(records, path)
    return path


def _cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["score", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _reference_json(path: Path, as_of: date, model=None) -> str:
    """The JSON `csm score` wrote before the fast paths: every active account's `AccountScore`
    through pydantic (with a churn model, `with_model`'s `ModelScore`)."""
    portfolio = read_portfolio(path)
    playbook = load_playbook()
    active = [a for a in portfolio.accounts if a.status != "churned"]
    scores = [score_account(a, playbook, as_of) for a in active]
    if model is not None:
        pairs = zip(active, scores, strict=True)
        scores = [with_model(model, a, s, playbook, as_of) for a, s in pairs]
    body = ",\n  ".join(s.model_dump_json() for s in scores)
    return json.dumps(as_of.isoformat()), body, scores


def _reference_table(scores, as_of: date, playbook, model=None, sort="churn", limit=80) -> str:
    """The table with rich drawing the rows (no colours: a StringIO), under the same title and
    footer: rich, not `plain_table`, wraps, pads and aligns every cell."""
    labels = {k: str(v.label) for k, v in playbook.signals.items()}
    rows = sorted_rows([make_row(s, labels, model) for s in scores], sort)
    header = columns(playbook.currency, model)
    widths = fit_widths(header, [r.cells for r in rows], limit)
    table = rich_table(header, widths)
    for r in rows:
        table.add_row(*(Text(c) for c in r.cells))
    out = io.StringIO()
    Console(file=out, width=400).print(table)
    width = max(limit or 0, sum(widths) + 2 * (len(widths) - 1), 80)
    said = [title(as_of, len(rows), sort), *footer(rows, playbook, model)]
    wrapped = ["\n".join(p.rstrip() for p in wrap(line, width)) + "\n" for line in said]
    return wrapped[0] + out.getvalue() + "".join(wrapped[1:])


@pytest.mark.parametrize("which", ["generated", "sample"])
def test_json_csv_and_table_match_the_per_account_scorer(which, generated, capsys):
    path = generated if which == "generated" else sample_portfolio_path()
    as_of = AS_OF
    quoted_day, body, scores = _reference_json(path, as_of)

    code, out, _ = _cli(capsys, str(path), "--as-of", as_of.isoformat(), "--format", "json")
    assert code == 0
    assert out.startswith('{"as_of": ' + quoted_day + ', "accounts": [\n  ' + body + "\n]")
    if which == "generated":
        assert '"warnings": [{' in out  # the plausibility review and unknown keys were exercised
        assert "50 churned accounts left out" in _  # and churned accounts were left out

    code, out, _ = _cli(capsys, str(path), "--as-of", as_of.isoformat(), "--format", "csv")
    expected = io.StringIO()
    write_csv(scores, expected)
    assert out == expected.getvalue()

    code, out, _ = _cli(capsys, str(path), "--as-of", as_of.isoformat())
    assert out == _reference_table(scores, as_of, load_playbook())
    for sort in SORTS:
        code, out, _ = _cli(capsys, str(path), "--as-of", as_of.isoformat(), "--sort", sort,
                            *(["--wide"] if sort == "name" else []))
        limit = None if sort == "name" else 80
        assert out == _reference_table(scores, as_of, load_playbook(), sort=sort, limit=limit)


# Hostile text for the table: wide and combining characters, emoji, spaces inside and around,
# long words that make rich wrap and shrink columns.
_CELL_TEXT = (
    st.lists(
        st.sampled_from(
            list("abcXYZ019 -_.,")
            + ["全", "Ｗ", "😀", "👍🏽", "é", "\u0301", "\u200b", "ж", "\u3000", "\u00a0"]
            + ["ﷺ", "🇷🇺"]
        ),
        min_size=1,
        max_size=70,
    )
    .map("".join)
    .map(str.strip)
    .filter(bool)
)


@settings(max_examples=60, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(_CELL_TEXT, _CELL_TEXT), min_size=1, max_size=12),
       st.sampled_from([40, 60, 80, None]))
def test_the_plain_table_is_what_rich_prints(names, limit):
    """Rows of hostile ids and names, squeezed to a width or not: `table_lines` writes what rich
    prints for the same columns and widths (wrapped, folded, padded, wide characters)."""
    playbook = load_playbook()
    labels = {k: str(v.label) for k, v in playbook.signals.items()}
    rows = []
    for i, (account_id, name) in enumerate(names):
        account = Account.model_validate(
            {"id": f"{account_id}-{i}", "name": name, "mrr": 1000 * i, "csat": i % 11,
             "weekly_logins": [i % 7] * 4}
        )
        rows.append(make_row(score_account(account, playbook, AS_OF), labels, None).cells)
    header = columns(playbook.currency, None)
    widths = fit_widths(header, rows, limit)
    table = rich_table(header, widths)
    for row in rows:
        table.add_row(*(Text(c) for c in row))
    reference = io.StringIO()
    Console(file=reference, width=400).print(table)
    assert "\n".join(table_lines(header, widths, rows)) + "\n" == reference.getvalue()


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(st.lists(st.sampled_from(["a", "bc", "defghij", " ", "  ", "\n", "全", "😀", "é",
                                 "\u0301", "\u200b", "\u3000", "Ｗ", "🇷🇺"]), max_size=40)
       .map("".join), st.integers(1, 12), st.booleans())
def test_a_cell_wraps_as_rich_wraps_it(text, width, right):
    """One cell at any width: lines broken at spaces, long words cut, padded or right-justified
    exactly as rich lays out a table cell."""
    column = Column("h", right=right)
    table = rich_table([column], [width])
    table.show_header = False
    table.add_row(Text(text))
    reference = io.StringIO()
    Console(file=reference, width=400).print(table)
    assert "\n".join(cell_lines(text, width, right)) + "\n" == reference.getvalue()


def test_widths_fit_the_limit_and_numbers_never_wrap():
    """The flexible columns share what the fixed ones leave; none goes below its floor."""
    header = [Column("ID", flexible=True), Column("Churn risk"), Column("Signals", flexible=True)]
    rows = [("a" * 30, "84.21 critical", "Engagement drop\nPayment delay")]
    assert fit_widths(header, rows, None) == [30, 14, 15]
    assert fit_widths(header, rows, 80) == [30, 14, 15]
    assert fit_widths(header, rows, 40) == [11, 14, 11]
    assert sum(fit_widths(header, rows, 40)) + 4 == 40
    assert fit_widths(header, rows, 10) == [6, 14, 7]  # at their floors: wider than asked


@pytest.fixture(scope="module")
def model_path(tmp_path_factory) -> Path:
    """A churn model file fitted by `csm learn` on a small generated history."""
    folder = tmp_path_factory.mktemp("model")
    history, path = folder / "history.jsonl", folder / "churn-model.json"
    assert main(["sample", "--history", "--accounts", "160", "--snapshots", "18", "--seed", "4",
                 "--as-of", "2026-08-20", "--out", str(history)]) == 0
    assert main(["learn", str(history), "--out", str(path)]) == 0
    return path


@pytest.fixture(scope="module")
def fewer(generated: Path) -> Path:
    """The first 600 of the generated accounts (a churned one and unknown keys among them): the
    model's path is the same code for every account, and rich's reference table is slow."""
    path = generated.with_name("fewer.jsonl")
    lines = generated.read_text(encoding="utf-8").splitlines(keepends=True)[:600]
    path.write_text("".join(lines), encoding="utf-8")
    return path


def test_with_a_model_file_every_output_is_the_reference(fewer, model_path, capsys):
    """A model file takes the full score (`score_account` and `with_model`) in every format."""
    generated = fewer
    playbook = load_playbook()
    model = load_model_for(model_path, playbook, None)
    summary = model_summary(model)
    day = AS_OF.isoformat()
    quoted_day, body, scores = _reference_json(generated, AS_OF, model)
    flags = ("--as-of", day, "--model-file", str(model_path))

    code, out, _ = _cli(capsys, str(generated), *flags, "--format", "json")
    head = '{"as_of": ' + quoted_day + ', "model": ' + json.dumps(summary, ensure_ascii=False)
    assert out.startswith(head + ', "accounts": [\n  ' + body + "\n]")

    code, out, _ = _cli(capsys, str(generated), *flags, "--format", "csv")
    expected = io.StringIO()
    write_csv(scores, expected, model=True)
    assert out == expected.getvalue()

    code, out, _ = _cli(capsys, str(generated), *flags)
    assert out == _reference_table(scores, AS_OF, playbook, summary)
    assert "Model churn" in out


def test_the_account_shortcut_is_on_and_builds_what_pydantic_builds():
    """The shortcut knows every validator of the account model (a new one turns it off, and
    this fails), and its accounts equal pydantic's, field by field, churned ones included."""
    assert shortcut_enabled()
    records = list(generate_accounts(300, 5, date(2026, 12, 10)))
    for i, record in enumerate(records):
        if i % 3 == 0:
            record.update(status="churned", churned_on="2026-10-01")
    records = [json.loads(json.dumps(r, default=str)) for r in records]
    built = [fast_account(r) for r in records]
    assert sum(b is not None for b in built) > 250
    for record, fast in zip(records, built, strict=True):
        if fast is not None:
            slow = Account.model_validate(record)
            assert fast == slow and fast.model_fields_set == slow.model_fields_set
    # a churned account without its day is pydantic's to refuse
    assert fast_account({"id": "a", "name": "b", "status": "churned"}) is None
    assert fast_account({"id": "a", "name": "b", "status": "Churned"}) is None


def test_json_written_as_bytes_is_the_json_written_as_text(tmp_path):
    """On a UTF-8 text file (stdout on Linux) `write_json` writes orjson's bytes to the file's
    byte stream: the file is byte for byte what it writes to a StringIO, the text written
    before and after the accounts in its place; another encoding keeps to the text stream."""
    from agent.interfaces.render import utf8_bytes, write_json
    from tools.portfolio.plausibility import review
    from tools.portfolio.readers import RowError, RowWarning
    from tools.scoring.score import score_dict

    playbook = load_playbook()
    accounts = [a for a in read_portfolio(sample_portfolio_path()).accounts][:5]
    accounts[0] = accounts[0].model_copy(update={"name": "Ёлка «Café» 🎄"})
    scores = [score_dict(review(a, AS_OF), playbook, AS_OF) for a in accounts]
    errors = [RowError(source="a.csv", row=3, id="x", field="mrr", reason="not a number")]
    warnings = [RowWarning(source="a.csv", row=4, id="y", field="csat", reason="é")]
    text = io.StringIO()
    write_json(iter(scores), AS_OF, errors, text, warnings)
    path = tmp_path / "scores.json"
    with path.open("w", encoding="utf-8") as out:
        assert utf8_bytes(out) is out.buffer
        write_json(iter(scores), AS_OF, errors, out, warnings)
    assert path.read_bytes() == text.getvalue().encode("utf-8")
    assert "Ёлка «Café» 🎄" in json.loads(path.read_text(encoding="utf-8"))["accounts"][0]["name"]
    with (tmp_path / "other.json").open("w", encoding="latin-1") as out:
        assert utf8_bytes(out) is None
    assert utf8_bytes(text) is None
