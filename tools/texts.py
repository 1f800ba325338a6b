"""Texts of the playbook in the report languages.

A playbook text is a plain string (English, shown in every language) or a mapping of languages
to strings, `{en: ..., ru: ...}`, with `en` required. It loads as a `Text`: a `str` whose value
is the English text, so the tools compute with it as before, and which keeps its translations
for the report templates (`Text.in_lang`). A language a text leaves out falls back to English.

Fields of a tool result that copy a playbook text are typed `ShownText`: they keep the `Text`
(and so its translations) and serialise as the English string."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import PlainSerializer, PlainValidator, WithJsonSchema, WrapValidator

LANGS = ("en", "ru")  # the report languages; `en` is the text every other one falls back to


class Text(str):
    """English text with its translations; `str(text)` and comparisons use the English."""

    translations: dict[str, str]

    def __new__(cls, english: str, translations: dict[str, str] | None = None) -> Text:
        text = super().__new__(cls, english)
        text.translations = dict(translations or {})
        return text

    def __reduce__(self) -> tuple[Any, ...]:
        return (Text, (str(self), self.translations))

    def in_lang(self, lang: str) -> str:
        """The text in a language: its translation, else the English."""
        return self.translations.get(lang, str(self))


def in_lang(value: Any, lang: str) -> Any:
    """A `Text` in a language; any other value unchanged."""
    return value.in_lang(lang) if isinstance(value, Text) else value


def parse_text(value: Any) -> Text:
    """A playbook text from a string or a mapping of languages to strings."""
    if isinstance(value, Text):
        return value
    if isinstance(value, str):
        return Text(value)
    if not isinstance(value, dict):
        raise ValueError("a text is a string or a mapping of languages, e.g. {en: ..., ru: ...}")
    for lang, text in value.items():
        if lang not in LANGS:
            raise ValueError(f"'{lang}' is not a report language ({', '.join(LANGS)})")
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"the '{lang}' text must be a non-empty string")
    if "en" not in value:
        raise ValueError("a text in several languages needs its English text under 'en'")
    return Text(value["en"], {k: v for k, v in value.items() if k != "en"})


def _dump(text: Text) -> str | dict[str, str]:
    return {"en": str(text), **text.translations} if text.translations else str(text)


def _keep(value: Any, handler: Any) -> Any:
    return value if isinstance(value, Text) else handler(value)


PlaybookText = Annotated[
    Text,
    PlainValidator(parse_text),
    PlainSerializer(_dump),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string"},
                {"type": "object", "additionalProperties": {"type": "string"}},
            ]
        }
    ),
]
ShownText = Annotated[str, WrapValidator(_keep)]


# Numbers and plurals in the report languages ------------------------------------------------

NBSP = "\u00a0"
# (thousands separator, decimal separator): 960,000.5 in English, 960 000,5 in Russian (the
# groups joined by a no-break space, so a line never breaks inside a number).
_SEPARATORS = {"en": (",", "."), "ru": (NBSP, ",")}


def format_number(value: float | int, lang: str, digits: int = 2, trim: bool = True) -> str:
    """A number as the language writes it, rounded to `digits` decimals (half to even, as
    Python formats) and grouped by thousands; `trim` drops trailing zeros (62.70 -> 62.7,
    31.00 -> 31)."""
    thousands, point = _SEPARATORS.get(lang, _SEPARATORS["en"])
    text = f"{value:,.{digits}f}"
    if trim and "." in text:
        text = text.rstrip("0").rstrip(".")
    if text in ("-0", "-0.0"):
        text = "0"
    return text.replace(",", "\x00").replace(".", point).replace("\x00", thousands)


def plural(n: float | int, lang: str, forms: tuple[str, ...]) -> str:
    """The word form for `n`: English (one, other): 1 day, 2 days, 1.5 days; Russian (one, few,
    many): 1, 21, 101 день; 2-4, 22-24 дня; 5-20, 11-14, 25 дней; a fraction takes `few`
    (1,5 дня)."""
    a = abs(n)
    if lang == "ru":
        one, few, many = forms
        if a != int(a):
            return few
        k = int(a)
        if k % 10 == 1 and k % 100 != 11:
            return one
        if k % 10 in (2, 3, 4) and k % 100 not in (12, 13, 14):
            return few
        return many
    one, other = forms[0], forms[-1]
    return one if a == 1 else other


def count(n: float | int, lang: str, forms: tuple[str, ...], digits: int = 2) -> str:
    """A number and its noun in the right form: '1 day', '3 days', '21 день', '5 дней'."""
    return f"{format_number(n, lang, digits)} {plural(n, lang, forms)}"
