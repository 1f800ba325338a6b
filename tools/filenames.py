"""Account ids to file names: ids are data, so a file name is derived from an id, never taken
from it.

The rule (pure and stable: the same id always gives the same stem, on every machine):

- an id that is already a safe name stays readable: it matches `[a-z0-9][a-z0-9._-]{0,79}`,
  does not end with `.`, and is not a Windows device name (con, prn, aux, nul, com0-9, lpt0-9,
  alone or before a `.`, as in `con.txt`);
- any other id becomes `{slug}~{hash}`: the slug is the id lower-cased, each run of other
  characters replaced by `-`, trimmed of `-` and `.`, cut to 40 characters (`account` when
  nothing is left); the hash is the first 10 hex digits of the SHA-256 of the id's UTF-8 bytes.

Stems never collide: a readable stem is the id itself, and a hashed stem holds `~`, which no
readable stem does. Every stem is lower case, so ids that differ only in case (`Acme`, `acme`)
also get different names on case-insensitive file systems. A stem is at most 80 characters,
never starts with `.` or `-`, and holds no path separator, so `{stem}.{lang}.md` is one safe
file name on Linux, macOS and Windows."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

READABLE = re.compile(r"[a-z0-9][a-z0-9._-]{0,79}")
RESERVED = frozenset(
    {"con", "prn", "aux", "nul"}
    | {f"com{n}" for n in range(10)}
    | {f"lpt{n}" for n in range(10)}
)
SLUG_LENGTH = 40
HASH_LENGTH = 10
_OTHER = re.compile(r"[^a-z0-9._-]+")


class UnsafePath(ValueError):
    """A file name that would land outside its folder."""


def is_readable(account_id: str) -> bool:
    """True when the id is itself a safe, portable file stem."""
    return (
        READABLE.fullmatch(account_id) is not None
        and not account_id.endswith(".")
        and account_id.split(".", 1)[0] not in RESERVED
    )


def file_stem(account_id: str) -> str:
    """The file stem of an account id: the id when it is safe, else `{slug}~{hash}`."""
    if is_readable(account_id):
        return account_id
    slug = _OTHER.sub("-", account_id.lower()).strip("-.")[:SLUG_LENGTH].strip("-.")
    digest = hashlib.sha256(account_id.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{slug or 'account'}~{digest[:HASH_LENGTH]}"


def report_name(account_id: str, lang: str, suffix: str = "md") -> str:
    """The file name of an account's reports: `{stem}.{lang}.{suffix}`."""
    return f"{file_stem(account_id)}.{lang}.{suffix}"


def inside(folder: Path, name: str) -> Path:
    """`folder / name`, refused unless it is a plain file name that resolves (symbolic links
    followed) to an entry directly inside the folder."""
    if (
        not name
        or name in (".", "..")
        or any(sep in name for sep in ("/", "\\", "\0"))
        or Path(name).is_absolute()
    ):
        raise UnsafePath(f"{name!r} is not a plain file name.")
    base = folder.resolve()
    target = base / name  # `base` has no link left in it and `name` no separator, so only
    if os.path.islink(target):  # the entry itself may lead elsewhere (resolving all is slower)
        target = target.resolve()
    if target.parent != base:
        raise UnsafePath(f"{name!r} would be written outside {base}.")
    return target
