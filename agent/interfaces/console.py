"""The rich console the commands print through, imported only when something is drawn."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console


@cache
def console_class() -> type[Console]:
    """A rich console that lets a closed pipe (`csm score | head`) reach the CLI, which ends
    quietly, instead of rich's own exit with status 1 (rich is imported when a table or a
    passage is printed, not for CSV or JSON)."""
    from rich.console import Console

    class _Console(Console):
        def on_broken_pipe(self) -> None:
            raise BrokenPipeError

    return _Console
