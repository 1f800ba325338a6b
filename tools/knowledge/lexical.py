"""BM25 over stemmed words (Snowball, English and Russian): the lexical half of hybrid search."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache

import snowballstemmer

WORD = re.compile(r"[^\W_]+", re.UNICODE)
CYRILLIC = re.compile(r"[а-яё]")


@lru_cache(maxsize=2)
def _stemmer(language: str) -> snowballstemmer.stemmer:
    return snowballstemmer.stemmer(language)


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    language = "russian" if CYRILLIC.search(word) else "english"
    return _stemmer(language).stemWord(word)


def terms(text: str) -> list[str]:
    """Lower-cased, stemmed words of a text, in either language."""
    return [_stem(w) for w in WORD.findall(text.lower().replace("ё", "е"))]


def query_language(text: str) -> str:
    """`ru` when most letters are Cyrillic, else `en`."""
    letters = [c for c in text.lower() if c.isalpha()]
    cyrillic = sum(1 for c in letters if CYRILLIC.match(c))
    return "ru" if letters and cyrillic * 2 > len(letters) else "en"


class BM25:
    """Okapi BM25 over a fixed list of texts."""

    def __init__(self, texts: Sequence[str], k1: float = 1.5, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.docs = [Counter(terms(t)) for t in texts]
        self.lengths = [sum(d.values()) for d in self.docs]
        self.avg = (sum(self.lengths) / len(self.lengths)) if self.lengths else 0.0
        frequency: Counter[str] = Counter()
        for doc in self.docs:
            frequency.update(doc.keys())
        n = len(self.docs)
        self.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in frequency.items()}

    def scores(self, query: str) -> list[float]:
        """The BM25 score of every text for the query (0 when no term matches)."""
        words = [t for t in set(terms(query)) if t in self.idf]
        result = []
        for doc, length in zip(self.docs, self.lengths, strict=True):
            norm = self.k1 * (1 - self.b + self.b * length / self.avg) if self.avg else self.k1
            result.append(
                sum(
                    self.idf[t] * doc[t] * (self.k1 + 1) / (doc[t] + norm)
                    for t in words
                    if t in doc
                )
            )
        return result
