"""Where the SOP definitions live and how the platform loads them."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from rules.loader import Catalog, load_catalog

REPO_ROOT = Path(__file__).resolve().parent.parent


def definitions_dir() -> Path:
    """``SOP_DEFINITIONS`` if set, else ``./sop_definitions``, else the one beside the code."""
    configured = os.environ.get("SOP_DEFINITIONS")
    if configured:
        return Path(configured)
    local = Path.cwd() / "sop_definitions"
    return local if local.is_dir() else REPO_ROOT / "sop_definitions"


def with_region_files(paths: Sequence[Path]) -> list[Path]:
    """Add the ``region.yaml`` beside (or above) each SOP file named on its own."""
    out = list(paths)
    for p in paths:
        if p.is_file() and p.name != "region.yaml":
            for folder in (p.parent, p.parent.parent):
                region = folder / "region.yaml"
                if region.is_file() and region not in out:
                    out.insert(0, region)
                    break
    return out


def load(paths: Sequence[Path | str] | None = None) -> Catalog:
    chosen = [Path(p) for p in paths] if paths else [definitions_dir()]
    return load_catalog(with_region_files(chosen))
