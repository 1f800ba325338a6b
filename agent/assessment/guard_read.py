"""How the grounding guard reads prose: the numbers in it (digits in the usual formats, with a
scale or a percent sign, dates, numbers written as words in English and Russian), the label of
each number (the words next to it), identifiers and links."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from agent.assessment.guard_words import (
    ALONE_NOT_A_NUMBER,
    WORD,
    fold,
    is_number_word,
    vocabulary,
    words_value,
)

DIGITS = r"-?\d{1,3}(?:[ ,\u00a0\u202f]\d{3})+(?:[.,]\d+)?|-?\d+(?:[.,]\d+)?"
SCALE = (r"(?:(?:k|K|M|bn)(?![^\W_])|\s?(?:mln|млн|млрд|тыс)\.?"
         r"|\s(?:thousand|million|billion|тысяч\w*|миллион\w*|миллиард\w*))")
NUMBER = re.compile(
    rf"(?<![\w.,])(?P<num>{DIGITS})(?P<scale>{SCALE})?(?P<pct>\s?%)?(?![^\W_])"
)
SCALES = {"k": 1e3, "тыс": 1e3, "thousand": 1e3, "тысяч": 1e3, "m": 1e6, "mln": 1e6,
          "млн": 1e6, "million": 1e6, "миллион": 1e6, "bn": 1e9, "млрд": 1e9, "billion": 1e9,
          "миллиард": 1e9}
ISO_DATE = re.compile(r"(?<![\w-])(\d{4})-(\d{2})-(\d{2})(?![\w-])")
DOTTED_DATE = re.compile(r"(?<![\w.])(\d{1,2})\.(\d{1,2})\.(\d{4})(?!\w|\.\d)")
IDENTIFIER = re.compile(
    r"(?<![\w-])(?=[\w-]*\d)(?=[\w-]*[^\W\d_])\w+(?:[-_]\w+)+(?![\w-])"
)
LINK = re.compile(
    r"https?://[^\s<>\"']+|\bwww\.[^\s<>\"']+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
    r"|\b[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*\.(?:com|net|org|io|ru|su|info|biz|xyz|example|"
    r"co|me|app|dev|online|site|top|ly|to|gg|cc|ai)\b",
    re.IGNORECASE,
)
LIST_MARKER = re.compile(r"(?m)^\s*\d{1,2}[.)](?=\s)")
SCALE_MAX = re.compile(r"(?:\bout of|\bиз|/)\s?100\b", re.IGNORECASE)
BOUNDARY = re.compile(r"[;,()\[\]\n—–]|[.!?](?:\s|$)")
CURRENCY_AFTER = re.compile(r"\s?[₽$€]")
CURRENCY_BEFORE = re.compile(r"[$€]\s?$")


@dataclass(frozen=True)
class Mention:
    """A number in prose: its value (scale applied), where it is, and how it is written."""

    value: float
    text: str
    start: int
    end: int
    percent: bool = False
    scale: float = 1.0
    date: str | None = None  # the ISO date, when the mention is a date
    word: bool = False  # written as words
    label: frozenset[str] = field(default=frozenset())
    unit: frozenset[str] = field(default=frozenset())  # the concepts of the unit written after it


def _parse_digits(token: str) -> float | None:
    compact = re.sub(r"[ \u00a0\u202f]", "", token)
    if re.fullmatch(r"-?\d{1,3}(,\d{3})+(\.\d+)?", compact):
        compact = compact.replace(",", "")
    else:
        compact = compact.replace(",", ".")
    try:
        return float(compact)
    except ValueError:
        return None


def masked(text: str) -> tuple[str, list[tuple[str, int]], list[tuple[str, int]]]:
    """The text with links, identifiers, list markers and "out of 100" blanked out (their
    digits are no figures), the links and the identifiers found."""
    links = [(m.group().rstrip(".,;:)"), m.start()) for m in LINK.finditer(text)]
    chars = list(text)

    def blank(start: int, end: int) -> None:
        chars[start:end] = " " * (end - start)

    for m in LINK.finditer(text):
        blank(m.start(), m.end())
    text = "".join(chars)
    ids = [(m.group(), m.start()) for m in IDENTIFIER.finditer(text)]
    for m in IDENTIFIER.finditer(text):
        blank(m.start(), m.end())
    for pattern in (LIST_MARKER, SCALE_MAX):
        for m in pattern.finditer("".join(chars)):
            blank(m.start(), m.end())
    return "".join(chars), links, ids


def _raw_mentions(text: str) -> list[Mention]:
    found: list[Mention] = []
    taken: list[tuple[int, int]] = []
    for pattern, order in ((ISO_DATE, (1, 2, 3)), (DOTTED_DATE, (3, 2, 1))):
        for m in pattern.finditer(text):
            y, mo, d = (m.group(i) for i in order)
            iso = f"{int(y):04d}-{int(mo):02d}-{int(d):02d}"
            found.append(Mention(0.0, m.group(), m.start(), m.end(), date=iso))
            taken.append((m.start(), m.end()))
    for m in NUMBER.finditer(text):
        if any(s <= m.start() < e for s, e in taken):
            continue
        value = _parse_digits(m.group("num"))
        if value is None:
            continue
        scale = 1.0
        if m.group("scale"):
            key = fold(m.group("scale").strip().rstrip("."))
            scale = next((v for k, v in SCALES.items() if key.startswith(k)), 1.0)
            if key == "m" and m.group("scale").strip() != "M":
                scale = 1.0
        found.append(Mention(value * scale, m.group(), m.start(), m.end(),
                             percent=bool(m.group("pct")), scale=scale))
    found += _word_mentions(text)
    return sorted(found, key=lambda x: x.start)


def _word_mentions(text: str) -> list[Mention]:
    """Numbers written as words: runs of number words joined by spaces or hyphens."""
    found: list[Mention] = []
    run: list[tuple[str, int, int]] = []

    def close() -> None:
        while run and fold(run[-1][0]) in ("and", "и"):
            run.pop()
        if not run:
            return
        words = [w for w, _, _ in run]
        if len(words) == 1 and fold(words[0]) in ALONE_NOT_A_NUMBER:
            run.clear()
            return
        value = words_value(words)
        if value is not None:
            start, end = run[0][1], run[-1][2]
            found.append(Mention(float(value), text[start:end], start, end, word=True))
        run.clear()

    for m in re.finditer(r"[^\W\d_]+", text):
        word = m.group()
        joined = bool(run) and re.fullmatch(r"[\s-]+", text[run[-1][2]:m.start()]) is not None
        if is_number_word(word) or (run and joined and fold(word) in ("and", "и")):
            if run and not joined:
                close()
            run.append((word, m.start(), m.end()))
        else:
            close()
    close()
    return found


def mentions(text: str) -> list[Mention]:
    """Every number and date in the text, each with its label (the concepts of the words that
    name it: before it in its clause, or the unit written after it)."""
    plain, _, _ = masked(text)
    raw = _raw_mentions(plain)
    vocab = vocabulary()
    labelled: list[Mention] = []
    consumed_until = 0
    for i, m in enumerate(raw):
        next_start = raw[i + 1].start if i + 1 < len(raw) else len(plain)
        after = _clause(plain[m.end:next_start], forward=True)
        unit_words: list[str] = []
        unit: frozenset[str] = frozenset()
        unit_end = m.end
        for w in list(WORD.finditer(after))[:3]:
            if vocab.is_unit(w.group()):
                unit_words = [x.group() for x in WORD.finditer(after[:w.end()])]
                unit = vocab.concepts(w.group())
                unit_end = m.end + w.end()
                break
        before_text = _clause(plain[max(consumed_until, 0):m.start], forward=False)
        before = [w.group() for w in WORD.finditer(before_text)][-4:]
        label: set[str] = set()
        for w in before + unit_words:
            label |= vocab.concepts(w)
        if CURRENCY_AFTER.match(plain[m.end:]) or CURRENCY_BEFORE.search(plain[:m.start]):
            label.add("money")
        if not label:
            for w in [x.group() for x in WORD.finditer(after)][:2]:
                label |= vocab.concepts(w)
        consumed_until = unit_end
        labelled.append(Mention(**{**m.__dict__, "label": frozenset(label), "unit": unit}))
    return labelled


def _clause(text: str, forward: bool) -> str:
    """The part of `text` in the same clause as the number: up to the first boundary after it
    (forward) or from the last boundary before it."""
    bounds = list(BOUNDARY.finditer(text))
    if not bounds:
        return text
    return text[:bounds[0].start()] if forward else text[bounds[-1].end():]


def identifiers(text: str) -> list[str]:
    """Identifier-like tokens (acc-037, t_12): letters and digits joined by - or _."""
    return [m.group() for m in IDENTIFIER.finditer(LINK.sub(" ", text))]


def links(text: str) -> list[str]:
    """Links, e-mail addresses and bare domain names in the text."""
    return [m.group().rstrip(".,;:)") for m in LINK.finditer(text)]
