"""A validated pydantic model kept in a file, so that a later run skips parsing and validating
its source (issue 15: the bundled playbook, most of the start-up of `csm score`).

The file holds a format line, a key, a checksum and the pickled model (`dump_checked`, which
the embedding model's cache uses too). It is used only when its
key matches the caller's (a digest of the source's bytes and of the code that validates it,
`cache_key`) and its checksum the pickle; anything else (no file, another key, a damaged or
unreadable file, another class) reads as no cache. Unpickling makes only the classes the
caller allows, so reading the file runs no other code. Writing is atomic and best-effort: a
directory that cannot be written keeps nothing."""

from __future__ import annotations

import hashlib
import io
import pickle
import sys
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

import pydantic
import pydantic_core

from tools.paths import write_atomically

FORMAT = b"csm-agent model cache 1\n"
_PROTOCOL = 5
Model = TypeVar("Model", bound=pydantic.BaseModel)


def cache_key(source: bytes, code: Iterable[ModuleType]) -> bytes:
    """The key of `source` as validated by the modules `code` (this module, pydantic and Python
    count too), in hex; raises OSError when a module's source file cannot be read."""
    digest = hashlib.sha256(source)
    for module in (*code, sys.modules[__name__]):
        path = Path(module.__file__ or "")
        digest.update(module.__name__.encode() + b"\0" + path.read_bytes() + b"\0")
    digest.update(f"{pydantic.VERSION} {pydantic_core.__version__} {sys.version}".encode())
    return digest.hexdigest().encode()


class _Unpickler(pickle.Unpickler):
    """An unpickler that makes the allowed objects (by module and name) and nothing else."""

    def __init__(self, data: bytes, allowed: dict[tuple[str, str], Any]) -> None:
        super().__init__(io.BytesIO(data))
        self.allowed = allowed

    def find_class(self, module: str, name: str) -> Any:
        try:
            return self.allowed[module, name]
        except KeyError:
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed here") from None


def dump_checked(value: Any) -> bytes:
    """`value` pickled, after the hex sha256 of the pickle and a line feed (`load_checked`)."""
    payload = pickle.dumps(value, protocol=_PROTOCOL)
    return hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload


def load_checked(data: bytes, allowed: dict[tuple[str, str], Any]) -> Any:
    """What `dump_checked` pickled, made only of the `allowed` objects (by module and name);
    ValueError when the checksum does not match, pickle's errors when it names anything else."""
    checksum, _, payload = data.partition(b"\n")
    if checksum != hashlib.sha256(payload).hexdigest().encode():
        raise ValueError("damaged: its checksum does not match")
    return _Unpickler(payload, allowed).load()


def read_cached(
    path: Path, key: bytes, model: type[Model], allowed: Iterable[type]
) -> Model | None:
    """The `model` instance kept in `path` under `key`, or None. `allowed`: every class the
    instance is made of (`model`, its nested models, custom field types)."""
    try:
        blob = path.read_bytes()
    except OSError:
        return None
    head, _, rest = blob.partition(b"\n")
    stored_key, _, checked = rest.partition(b"\n")
    if head + b"\n" != FORMAT or stored_key != key:
        return None
    classes = {(c.__module__, c.__qualname__): c for c in allowed}
    try:
        found = load_checked(checked, classes)
    except Exception:  # noqa: BLE001 - a damaged file, whatever pickle makes of it: no cache
        return None
    return found if type(found) is model else None


def write_cache(path: Path, key: bytes, value: pydantic.BaseModel) -> None:
    """Keep `value` (validated) in `path` under `key`, replacing the file whole; on any failure
    to write, keep nothing."""
    try:
        blob = FORMAT + key + b"\n" + dump_checked(value)
        write_atomically(path, lambda stream: stream.write(blob))
    except (OSError, pickle.PicklingError, TypeError):  # TypeError: an unpicklable value
        pass
