"""Where csm-agent keeps its state (a light module: no database or model imports)."""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


class DataDirError(ValueError):
    """The data directory cannot be one: a file is in its place (or in its path)."""


def data_dir() -> Path:
    """`CSM_DATA_DIR`, else the per-user data directory; checked to be usable as a directory
    (it may not exist yet: it is created when first written)."""
    configured = os.environ.get("CSM_DATA_DIR")
    if configured:
        path = Path(configured).expanduser()
        _check_directory(path, f"CSM_DATA_DIR={configured}", "point CSM_DATA_DIR at a directory "
                         "(it is created if missing) or unset it to use the default")
        return path
    from platformdirs import user_data_dir

    path = Path(user_data_dir("csm-agent", appauthor=False))
    _check_directory(path, f"the data directory {path}", "move that file away or set "
                     "CSM_DATA_DIR to a directory")
    return path


def _check_directory(path: Path, what: str, fix: str) -> None:
    """Raise DataDirError when `path`, or the nearest of its parents that exists, is not a
    directory (a file, or a link to nothing)."""
    for candidate in (path, *path.parents):
        if candidate.exists() or candidate.is_symlink():
            if candidate.is_dir():
                return
            kind = "a file" if candidate.is_file() else "not a directory"
            where = "" if candidate == path else f": {candidate} is {kind}"
            raise DataDirError(f"{what} is not a directory{where}; {fix}.")


def store_path(db: str | Path | None = None) -> Path:
    """The SQLite store: `db` when given, else csm.sqlite3 in the data directory."""
    return Path(db) if db else data_dir() / "csm.sqlite3"


_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def store_location(db: str | Path | None = None) -> Path | str:
    """The store a command uses: `db` when given, else `CSM_DB`, else csm.sqlite3 in the data
    directory; a `scheme://...` URL (a PostgreSQL server) is returned as the text it is, a path
    as a Path."""
    given = db if db else os.environ.get("CSM_DB") or None
    if isinstance(given, str) and _URL.match(given.strip()):
        return given.strip()
    return store_path(given)


_SECRET_KEYS = ("password", "sslpassword")


def _authority(rest: str) -> tuple[str, str]:
    """A URL after its `scheme://`, split into the user-and-host part and the rest."""
    end = min((i for i in (rest.find("/"), rest.find("?")) if i >= 0), default=len(rest))
    return rest[:end], rest[end:]


def masked_url(url: str) -> str:
    """A store URL without its password (in the user part or as a parameter): what messages
    and `--db` hints show."""
    scheme, sep, rest = url.partition("://")
    authority, tail = _authority(rest)
    if "@" in authority:
        userinfo, host = authority.rsplit("@", 1)
        authority = f"{userinfo.split(':', 1)[0]}@{host}"
    path, mark, query = tail.partition("?")
    if mark:
        kept = [p for p in query.split("&") if p.split("=", 1)[0].lower() not in _SECRET_KEYS]
        tail = path + ("?" + "&".join(kept) if kept else "")
    return scheme + sep + authority + tail


def without_secrets(text: str, url: str) -> str:
    """`text` (a driver's error, say) with the URL masked and its password, as written or
    decoded, replaced by ***."""
    from urllib.parse import unquote

    text = text.replace(url, masked_url(url))
    authority, tail = _authority(url.partition("://")[2])
    found = []
    if "@" in authority and ":" in authority.rsplit("@", 1)[0]:
        found.append(authority.rsplit("@", 1)[0].split(":", 1)[1])
    for part in tail.partition("?")[2].split("&"):
        key, _, value = part.partition("=")
        if key.lower() in _SECRET_KEYS:
            found.append(value)
    for secret in sorted({s for f in found for s in (f, unquote(f)) if s}, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def write_atomically(path: Path, write: Callable[[BinaryIO], None]) -> None:
    """Write a file whole or not at all: `write` fills a temporary file in the same folder
    (created if missing), which is flushed to disk and renamed over `path`. On any failure the
    temporary file is removed and the error raised."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
