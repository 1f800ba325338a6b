"""The vocabulary of the grounding guard (guard_terms.yaml): the concepts a word names, the
numbers written as words in English and Russian, the topics (signals, gaps, offers) and the
instruction patterns."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")


def fold(text: str) -> str:
    """Lower case with ё written е: the form every pattern of the guard is matched against."""
    return text.lower().replace("ё", "е")


@dataclass(frozen=True)
class Vocabulary:
    """The guard's words, compiled."""

    exact: dict[str, frozenset[str]]  # word -> concepts
    stems: tuple[tuple[str, str], ...]  # (stem, concept), longest first
    units: frozenset[str]  # concepts whose words follow a number (currencies, time, nouns)
    unit_words: frozenset[str]
    unit_stems: tuple[str, ...]
    countable: frozenset[str]
    topics: dict[str, tuple[frozenset[str], tuple[re.Pattern[str], ...]]]
    instructions: tuple[re.Pattern[str], ...]

    def concepts(self, word: str) -> frozenset[str]:
        """The concepts a word (or a snake_case key) names."""
        word = fold(word)
        found = set(self.exact.get(word, ()))
        parts = [word] + ([p for p in re.split(r"[_\-]", word) if p] if "_" in word
                          or "-" in word else [])
        for part in parts:
            found |= self.exact.get(part, frozenset())
            for stem, concept in self.stems:
                if part.startswith(stem):
                    found.add(concept)
        return frozenset(found)

    def is_unit(self, word: str) -> bool:
        """Whether a word is written after a number (a currency, a time unit, a counted noun)."""
        word = fold(word)
        return word in self.unit_words or any(word.startswith(s) for s in self.unit_stems)


@lru_cache(maxsize=1)
def vocabulary() -> Vocabulary:
    """The compiled guard_terms.yaml."""
    text = resources.files("agent.assessment").joinpath("guard_terms.yaml").read_text("utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    exact: dict[str, set[str]] = {}
    stems: list[tuple[str, str]] = []
    unit_words: set[str] = set()
    unit_stems: list[str] = []
    for concept, entry in data["concepts"].items():
        for kind in ("words", "units"):
            for raw in entry.get(kind, []):
                word = fold(str(raw))
                if word.endswith("*"):
                    stems.append((word[:-1], concept))
                    if kind == "units":
                        unit_stems.append(word[:-1])
                else:
                    exact.setdefault(word, set()).add(concept)
                    if kind == "units":
                        unit_words.add(word)
    topics = {
        name: (frozenset(entry["ids"]), tuple(re.compile(p) for p in entry["phrases"]))
        for name, entry in data["topics"].items()
    }
    return Vocabulary(
        exact={k: frozenset(v) for k, v in exact.items()},
        stems=tuple(sorted(stems, key=lambda s: -len(s[0]))),
        units=frozenset(c for c, e in data["concepts"].items() if e.get("units")),
        unit_words=frozenset(unit_words),
        unit_stems=tuple(unit_stems),
        countable=frozenset(data["countable"]),
        topics=topics,
        instructions=tuple(re.compile(p) for p in data["instructions"]),
    )


# numbers written as words --------------------------------------------------------------------

_EN_UNITS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen "
             "fourteen fifteen sixteen seventeen eighteen nineteen").split()
_EN_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
# Russian: the forms a number takes in the cases prose uses (nominative, genitive, dative...)
_RU = {
    0: "ноль нуль нуля", 1: "один одна одно одного одной одному одним одном одну",
    2: "два две двух двум двумя", 3: "три трех трем тремя", 4: "четыре четырех четырем четырьмя",
    5: "пять пяти пятью", 6: "шесть шести шестью", 7: "семь семи семью",
    8: "восемь восьми восемью", 9: "девять девяти девятью", 10: "десять десяти десятью",
    11: "одиннадцать одиннадцати", 12: "двенадцать двенадцати", 13: "тринадцать тринадцати",
    14: "четырнадцать четырнадцати", 15: "пятнадцать пятнадцати", 16: "шестнадцать шестнадцати",
    17: "семнадцать семнадцати", 18: "восемнадцать восемнадцати",
    19: "девятнадцать девятнадцати", 20: "двадцать двадцати", 30: "тридцать тридцати",
    40: "сорок сорока", 50: "пятьдесят пятидесяти", 60: "шестьдесят шестидесяти",
    70: "семьдесят семидесяти", 80: "восемьдесят восьмидесяти", 90: "девяносто девяноста",
    100: "сто ста", 200: "двести двухсот", 300: "триста трехсот", 400: "четыреста четырехсот",
    500: "пятьсот пятисот", 600: "шестьсот шестисот", 700: "семьсот семисот",
    800: "восемьсот восьмисот", 900: "девятьсот девятисот",
}
SMALL: dict[str, int] = {w: i for i, w in enumerate(_EN_UNITS)}
SMALL.update({w: 20 + 10 * i for i, w in enumerate(_EN_TENS)})
SMALL.update({form: value for value, forms in _RU.items() for form in forms.split()})
HUNDRED = {"hundred": 100}
SCALES = {"thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000}
SCALES.update({w: 1_000 for w in "тысяча тысячи тысяч тысячу тысячей".split()})
SCALES.update({w: 1_000_000 for w in "миллион миллиона миллионов".split()})
SCALES.update({w: 1_000_000_000 for w in "миллиард миллиарда миллиардов".split()})
# "one" and "один" alone are more often a pronoun ("one of the risks") than a figure
ALONE_NOT_A_NUMBER = frozenset({"one", "один", "одна", "одно", "одного", "одной", "одному",
                                "одним", "одном", "одну"})


def is_number_word(word: str) -> bool:
    word = fold(word)
    return word in SMALL or word in HUNDRED or word in SCALES


def words_value(words: list[str]) -> int | None:
    """The value of consecutive number words ("forty two", "сорок два", "two hundred and five"),
    or None when they do not form a number."""
    total = current = 0
    seen = False
    for raw in words:
        word = fold(raw)
        if word in ("and", "и") and seen:
            continue
        if word in SMALL:
            current += SMALL[word]
        elif word in HUNDRED:
            current = max(current, 1) * 100
        elif word in SCALES:
            total += max(current, 1) * SCALES[word]
            current = 0
        else:
            return None
        seen = True
    return total + current if seen else None


# language ------------------------------------------------------------------------------------


def language_of(text: str) -> str:
    """`ru` when most letters of the text are Cyrillic, else `en`."""
    cyrillic = len(re.findall(r"[а-яА-ЯёЁ]", text))
    latin = len(re.findall(r"[a-zA-Z]", text))
    return "ru" if cyrillic > latin else "en"
