"""The files of the index folder that are read without Chroma: where the folder is, the manifest
of the last finished build, the version each document must have in it, how many records Chroma's
database holds for a collection, and whole-or-nothing JSON writes."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
from pathlib import Path
from typing import Any

from tools.paths import data_dir, write_atomically

CHUNKER_VERSION = "1"
MANIFEST_FORMAT = 1


def knowledge_dir() -> Path:
    """The index folder: `CSM_KNOWLEDGE_DIR`, else `knowledge-index` in the data directory."""
    configured = os.environ.get("CSM_KNOWLEDGE_DIR", "").strip()
    return Path(configured).expanduser() if configured else data_dir() / "knowledge-index"


def manifest_path(path: Path, embedding: str) -> Path:
    """The manifest of the index of one embedding function (by its name) in the folder."""
    return path / f"manifest-{embedding}.json"


def doc_version(doc_sha: str, embedding: str, config: dict[str, Any]) -> str:
    """The version a document has in an index: its content hash, the chunker's version and the
    embedding function (name and configuration)."""
    settings = json.dumps(config, sort_keys=True)
    key = f"{doc_sha}:{CHUNKER_VERSION}:{embedding}:{settings}"
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def read_manifest(path: Path) -> dict[str, Any] | None:
    """The manifest of the last finished build, or None (none yet, unreadable, other format)."""
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        return None
    return manifest


def write_json(path: Path, content: dict[str, Any], compact: bool = False) -> None:
    """Write a JSON file (the manifest, the answers, a corpus) whole or not at all: a temporary
    file, flushed, then renamed (removed if the write fails). `compact`: no indentation, keys in
    their own order."""
    if compact:
        text = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
    else:
        text = json.dumps(content, indent=1, sort_keys=True)
    write_atomically(path, lambda stream: stream.write(text.encode("utf-8")))


def chroma_count(path: Path, collection: str) -> int | None:
    """How many records Chroma's database in the folder holds for the collection, read without
    Chroma (its SQLite tables, read-only); None when the database or the collection is not there
    or cannot be read."""
    database = path / "chroma.sqlite3"
    if not database.is_file():
        return None
    try:
        with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
            found = db.execute("SELECT id FROM collections WHERE name = ?", (collection,))
            if found.fetchone() is None:
                return None
            (count,) = db.execute(
                "SELECT COUNT(*) FROM embeddings AS e JOIN segments AS s ON e.segment_id = s.id"
                " JOIN collections AS c ON s.collection = c.id WHERE c.name = ?", (collection,)
            ).fetchone()
    except sqlite3.Error:
        return None
    return int(count)
