"""Shared fixtures: the seed catalog and one evaluator for the whole run."""

from __future__ import annotations

from pathlib import Path

import pytest

from rules.evaluator import CompiledSop, Evaluator
from rules.loader import Catalog, load_catalog

ROOT = Path(__file__).resolve().parent.parent
DEFINITIONS = ROOT / "sop_definitions"


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    loaded = load_catalog([DEFINITIONS])
    assert loaded.ok, "\n".join(map(str, loaded.problems))
    return loaded


@pytest.fixture(scope="session")
def evaluator() -> Evaluator:
    return Evaluator()


@pytest.fixture(scope="session")
def compiled(catalog: Catalog, evaluator: Evaluator) -> dict[str, CompiledSop]:
    return {sop_id: evaluator.register(loaded) for sop_id, loaded in catalog.latest().items()}
