"""Every figure the knowledge base quotes equals the playbook's.

Prose: numbers 0-12 are free (counts, weeks, list numbering); any other number must be a
playbook figure or one derived from it (price x 12, price x probability, probabilities and
ratio targets as percentages). Rule tables: a row whose first cell is a SPEC id in backticks
quotes only that entry's figures, and quotes its key figures (weights, bounds, bands, prices,
probabilities, thresholds, days, minutes, targets)."""

import re
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from tools.knowledge.documents import load_docs
from tools.playbook import default_playbook_path

FREE = {float(n) for n in range(13)}
NUMBER = {
    "en": re.compile(r"(?<![\w.])\d{1,3}(?:,\d{3})+(?:\.\d+)?|(?<![\w.,])\d+(?:\.\d+)?"),
    "ru": re.compile(r"(?<![\w,])\d{1,3}(?: \d{3})+(?:,\d+)?|(?<![\w,])\d+(?:,\d+)?"),
}
CODE = re.compile(r"`[^`]*`")
KEY_FIELDS = (
    "weight",
    "ok",
    "bad",
    "min",
    "max",
    "price",
    "probability",
    "below",
    "above",
    "within_days",
    "start_day",
    "end_day",
    "due_day",
    "minutes",
)

PLAYBOOK = yaml.safe_load(default_playbook_path().read_text(encoding="utf-8"))


def numbers_in(text: str, lang: str) -> list[float]:
    """Every number of a text, read in the language's format; code spans are skipped."""
    found = []
    for token in NUMBER[lang].findall(CODE.sub(" ", text)):
        token = token.replace(",", "") if lang == "en" else token.replace(" ", "").replace(",", ".")
        found.append(float(token))
    return found


def numeric_values(node: Any) -> Iterator[float]:
    """Every number in a playbook subtree, with probabilities and ratios also as percentages."""
    if isinstance(node, bool):
        return
    if isinstance(node, int | float):
        yield float(node)
        if 0 < node < 1:
            yield round(node * 100, 6)
    elif isinstance(node, dict):
        for value in node.values():
            yield from numeric_values(value)
    elif isinstance(node, list):
        for value in node:
            yield from numeric_values(value)


def offer_values(offer: dict[str, Any]) -> set[float]:
    price, probability = offer["price"], offer["probability"]
    return {price * 12, round(price * probability, 2), round(price * probability * 12, 2)}


def allowed_figures() -> set[float]:
    figures = set(numeric_values(PLAYBOOK)) | FREE
    for offer in PLAYBOOK["opportunities"].values():
        figures |= offer_values(offer)
    return {round(f, 6) for f in figures}


def entries(node: Any, wanted: str) -> Iterator[dict[str, Any]]:
    """Every playbook entry with this id: a mapping key, or a list item whose `id` it is."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == wanted:
                yield value if isinstance(value, dict) else {"value": value}
            yield from entries(value, wanted)
        if node.get("id") == wanted:
            yield node
    elif isinstance(node, list):
        for value in node:
            yield from entries(value, wanted)


def key_figures(entry: dict[str, Any]) -> set[float]:
    keys = {float(entry[k]) for k in KEY_FIELDS if isinstance(entry.get(k), int | float)}
    if set(entry) == {"value"}:  # a target
        value = float(entry["value"])
        keys = {round(value * 100, 6) if value < 1 else value}
    return keys


def table_rows() -> Iterator[tuple[str, str, str, list[str]]]:
    for doc in load_docs():
        for line in doc.body.splitlines():
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if line.lstrip().startswith("|") and re.fullmatch(r"`[a-z_0-9]+`", cells[0]):
                yield doc.source, doc.lang, cells[0].strip("`"), cells[1:]


ALLOWED = allowed_figures()
DOCS = load_docs()


@pytest.mark.parametrize("doc", DOCS, ids=[d.source for d in DOCS])
def test_prose_quotes_only_playbook_figures(doc):
    strays = sorted({n for n in numbers_in(doc.body, doc.lang) if round(n, 6) not in ALLOWED})
    assert not strays, f"{doc.source} quotes figures that are not in the playbook: {strays}"


ROWS = list(table_rows())


def test_rule_tables_exist_for_the_scoring_topics():
    ids = {row_id for _, _, row_id, _ in ROWS}
    for group in (
        PLAYBOOK["churn_risk"]["factors"],
        PLAYBOOK["signals"],
        PLAYBOOK["opportunities"],
        PLAYBOOK["health"]["components"],
    ):
        assert set(group) <= ids
    assert {"low", "medium", "high", "critical", "green", "yellow", "red"} <= ids


@pytest.mark.parametrize(
    ("source", "lang", "row_id", "cells"), ROWS, ids=[f"{r[0]}:{r[2]}" for r in ROWS]
)
def test_rule_table_rows_match_their_playbook_entry(source, lang, row_id, cells):
    found = list(entries(PLAYBOOK, row_id))
    assert found, f"{source}: `{row_id}` is not a playbook id"
    quoted = {round(n, 6) for n in numbers_in(" | ".join(cells), lang)}
    own: set[float] = set(FREE)
    for entry in found:
        own |= {round(v, 6) for v in numeric_values(entry)}
        if "price" in entry:
            own |= offer_values(entry)
    assert quoted <= own, f"{source}: `{row_id}` row quotes {sorted(quoted - own)}, not its figures"
    assert any(key_figures(e) <= quoted for e in found), (
        f"{source}: `{row_id}` row leaves out its key figures "
        f"{[sorted(key_figures(e)) for e in found]}"
    )
