"""Knowledge-base documents: front matter, and Markdown chunks that keep their heading path."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

LANGS = ("en", "ru")
TOPICS = (
    "health_score", "churn_risk", "interventions", "onboarding", "early_warning", "qbr", "upsell",
    "routines", "roi_metrics", "industry_ecommerce", "industry_saas", "stakeholders",
    "success_plan", "forecasting", "guidelines",
)
HEADING = re.compile(r"^(#{1,3})\s+(.+?)\s*#*\s*$")
MAX_CHUNK_CHARS = 2000


class KnowledgeError(ValueError):
    """A knowledge document that cannot be used (no front matter, unknown topic or language)."""


@dataclass(frozen=True)
class KnowledgeDoc:
    """One Markdown document of the knowledge base."""

    topic: str
    lang: str
    title: str
    source: str
    body: str
    sha: str


@dataclass(frozen=True)
class Chunk:
    """A section of a document, with the heading path that locates it."""

    id: str
    topic: str
    lang: str
    source: str
    heading: str
    text: str
    doc_sha: str

    def embedding_text(self) -> str:
        """What is embedded and searched: the heading path, then the section."""
        return f"{self.heading}\n\n{self.text}"


def knowledge_root() -> Path:
    """The folder holding en/ and ru/ (bundled with the package)."""
    return Path(str(resources.files("knowledge")))


def parse_doc(text: str, source: str) -> KnowledgeDoc:
    """Split front matter (`key: value` lines between `---`) from the Markdown body."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---" or "---" not in (s.strip() for s in lines[1:]):
        raise KnowledgeError(
            f"{source}: no front matter; start the file with ---, topic, lang, title, ---."
        )
    end = next(i for i, line in enumerate(lines[1:], start=1) if line.strip() == "---")
    meta = {}
    for line in lines[1:end]:
        key, _, value = line.partition(":")
        meta[key.strip()] = value.strip().strip('"')
    missing = [k for k in ("topic", "lang", "title") if not meta.get(k)]
    if missing:
        raise KnowledgeError(f"{source}: front matter lacks {', '.join(missing)}.")
    if meta["lang"] not in LANGS:
        raise KnowledgeError(f"{source}: lang '{meta['lang']}' is not one of {', '.join(LANGS)}.")
    body = "\n".join(lines[end + 1 :]).strip() + "\n"
    sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return KnowledgeDoc(meta["topic"], meta["lang"], meta["title"], source, body, sha)


def load_docs(root: Path | None = None) -> list[KnowledgeDoc]:
    """Every `<lang>/<topic>.md` under root, sorted by source."""
    base = root or knowledge_root()
    docs = []
    for lang in LANGS:
        for path in sorted((base / lang).glob("*.md")):
            docs.append(parse_doc(path.read_text(encoding="utf-8"), f"{lang}/{path.name}"))
    return docs


def _sections(body: str) -> list[tuple[list[str], list[str]]]:
    """(heading path, lines) for every heading-delimited section, outside code fences."""
    path: list[str] = []
    sections: list[tuple[list[str], list[str]]] = [([], [])]
    fenced = False
    for line in body.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        match = None if fenced else HEADING.match(line)
        if match:
            level = len(match.group(1))
            path = path[: level - 1] + [match.group(2)]
            sections.append((list(path), []))
        else:
            sections[-1][1].append(line)
    return sections


def _split_long(text: str, limit: int) -> list[str]:
    """Split a long section on blank lines into parts of at most about `limit` characters."""
    if len(text) <= limit:
        return [text]
    parts, current = [], ""
    for paragraph in text.split("\n\n"):
        if current and len(current) + len(paragraph) + 2 > limit:
            parts.append(current)
            current = paragraph
        else:
            current = f"{current}\n\n{paragraph}" if current else paragraph
    return parts + ([current] if current else [])


def chunk_doc(doc: KnowledgeDoc, limit: int = MAX_CHUNK_CHARS) -> list[Chunk]:
    """One chunk per section (a `#`, `##` or `###` heading and its text)."""
    chunks = []
    for path, lines in _sections(doc.body):
        text = "\n".join(lines).strip()
        if not text:
            continue
        heading = " > ".join(path) or doc.title
        for part in _split_long(text, limit):
            chunk_id = f"{doc.source}#{len(chunks)}"
            chunks.append(Chunk(chunk_id, doc.topic, doc.lang, doc.source, heading, part, doc.sha))
    return chunks
