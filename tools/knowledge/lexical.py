"""BM25 over stemmed words (Snowball, English and Russian): the lexical half of hybrid search."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
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
        self._index([Counter(terms(t)) for t in texts], k1, b)

    @classmethod
    def of_counts(cls, docs: Sequence[Counter[str]], k1: float = 1.5, b: float = 0.75) -> BM25:
        """The index of texts given as their term counts (`docs`, as `terms` counts them)."""
        bm25 = cls.__new__(cls)
        bm25._index(list(docs), k1, b)
        return bm25

    def _index(self, docs: list[Counter[str]], k1: float, b: float) -> None:
        self.k1, self.b = k1, b
        self.docs = docs
        self.lengths = [sum(d.values()) for d in self.docs]
        self.avg = (sum(self.lengths) / len(self.lengths)) if self.lengths else 0.0
        frequency: Counter[str] = Counter()
        for doc in self.docs:
            frequency.update(doc.keys())
        n = len(self.docs)
        self.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in frequency.items()}
        # per text: the length normalisation; per term: the texts holding it and how often
        self.norms = np.array([
            self.k1 * (1 - self.b + self.b * length / self.avg) if self.avg else self.k1
            for length in self.lengths
        ], dtype=np.float64)
        found: dict[str, tuple[list[int], list[int]]] = {}
        for i, doc in enumerate(self.docs):
            for term, count in doc.items():
                at, counts = found.setdefault(term, ([], []))
                at.append(i)
                counts.append(count)
        self.postings = {
            t: (np.array(at, dtype=np.intp), np.array(counts, dtype=np.float64))
            for t, (at, counts) in found.items()
        }

    def scores(self, query: str) -> np.ndarray:
        """The BM25 score of every text for the query (0 when no term matches): for each text,
        the sum over the query's terms it holds of idf x tf x (k1 + 1) / (tf + norm), the terms
        added in the same order for every text."""
        result = np.zeros(len(self.docs), dtype=np.float64)
        for t in [t for t in set(terms(query)) if t in self.idf]:
            at, tf = self.postings[t]
            result[at] += self.idf[t] * tf * (self.k1 + 1) / (tf + self.norms[at])
        return result
