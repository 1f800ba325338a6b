"""What every command shares with `csm`'s entry point: the user-error type, the exit codes and
the checked playbook load (a light module, so commands never import `agent.interfaces.cli` back)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tools.escaping import terminal_line

if TYPE_CHECKING:
    from tools.playbook import Playbook

EXIT_OK, EXIT_FAILED, EXIT_PARTIAL = 0, 1, 2
EXIT_FELL_BACK = 3  # --strict: a summary asked of the model fell back to the deterministic one


class CliError(Exception):
    """A user error: printed as one sentence, exit code 1."""


def load_checked_playbook(path: Path | None) -> Playbook:
    """Load a playbook; a custom one's warnings (weights not adding up to 100) go to stderr."""
    from tools.playbook import load_playbook  # pydantic and yaml: only when a command needs it

    playbook = load_playbook(path)
    if path is not None:
        for warning in playbook.warnings():
            print(terminal_line(f"csm: warning: playbook {path}: {warning}"), file=sys.stderr)
    return playbook


def load_run_model(path: Path | None, playbook: Playbook, playbook_path: Path | None) -> Any:
    """The churn model a command uses (--model-file, CSM_MODEL_FILE, the playbook's
    forecast.model_file), or None; a playbook-version mismatch is warned about on stderr."""
    from tools.learning.model_path import model_file_path

    if model_file_path(path, playbook, playbook_path) is None:
        return None  # the learning code is imported only for a model file
    from tools.learning.scoring import load_model_for, playbook_mismatch

    model = load_model_for(path, playbook, playbook_path)
    if model is not None and (warning := playbook_mismatch(model, playbook)):
        print(terminal_line(f"csm: warning: {warning}"), file=sys.stderr)
    return model
