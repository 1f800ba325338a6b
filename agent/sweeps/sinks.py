"""Where a sweep's report files go: a sink takes a report's file name and text and keeps it.

The default, `FolderSink`, writes into a local folder. The local workers write through it
themselves (they share the main process's disk); the workers of a cluster return their rendered
reports and the main process writes them here, so the workers need no shared disk."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

from tools.filenames import inside


class ReportSink(Protocol):
    """Keeps report files; `write` returns where the report is (what the store records)."""

    def write(self, name: str, text: str) -> str:
        """Keep one report; its location."""
        ...

    def remove(self, location: str) -> None:
        """Drop a report written earlier (its account could not be stored)."""
        ...


def write_report(folder: Path, name: str, text: str) -> Path:
    """Write one report file inside `folder` (never outside it), atomically: a reader sees the
    whole file or none."""
    target = inside(folder, name)
    partial = inside(folder, f".{name}.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, target)
    return target


class FolderSink:
    """Report files in a local folder, each written atomically under its own name."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def write(self, name: str, text: str) -> str:
        """Write the file; its path."""
        return str(write_report(self.folder, name, text))

    def remove(self, location: str) -> None:
        """Delete the file, if it is there."""
        Path(location).unlink(missing_ok=True)
