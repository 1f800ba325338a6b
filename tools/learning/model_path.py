"""Which churn model file a run uses (a light module: `csm score` without a model file imports
nothing of the learning code)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tools.playbook import Playbook

MODEL_FILE_ENV = "CSM_MODEL_FILE"


def model_file_path(
    given: str | Path | None, playbook: Playbook, playbook_path: str | Path | None
) -> Path | None:
    """Which model file a run uses: the one given (`--model-file`), else CSM_MODEL_FILE, else
    the playbook's forecast.model_file (relative to the playbook file), else none."""
    if given:
        return Path(given).expanduser()
    if os.environ.get(MODEL_FILE_ENV):
        return Path(os.environ[MODEL_FILE_ENV]).expanduser()
    key = playbook.forecast.model_file
    if not key:
        return None
    path = Path(key).expanduser()
    if not path.is_absolute() and playbook_path:
        path = Path(playbook_path).expanduser().parent / path
    return path


__all__ = ["MODEL_FILE_ENV", "model_file_path"]
