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
