"""Golden compiled rulesets: any change to what an SOP compiles to shows up in review.

Regenerate after an intended change with ``UPDATE_GOLDEN=1 pytest tests/rules/test_golden.py``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from rules.compiler import compile_sop
from rules.loader import Catalog
from tests.rules.test_seed_branches import SEED_SOPS

GOLDEN = Path(__file__).resolve().parent.parent / "golden"


@pytest.mark.parametrize("sop_id", SEED_SOPS)
def test_compiled_ruleset_matches_golden_file(catalog: Catalog, sop_id: str) -> None:
    loaded = catalog.latest()[sop_id]
    compiled = compile_sop(loaded.sop, loaded.content_hash)
    text = json.dumps(compiled, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    path = GOLDEN / f"{sop_id}.json"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no golden file {path}; run with UPDATE_GOLDEN=1 to create it"
    assert text == path.read_text(encoding="utf-8"), (
        f"{sop_id} compiles differently from {path.name}; "
        "if intended, regenerate with UPDATE_GOLDEN=1"
    )


def test_compiled_rulesets_are_plain_json(catalog: Catalog) -> None:
    for loaded in catalog.latest().values():
        compiled = compile_sop(loaded.sop, loaded.content_hash)
        assert json.loads(json.dumps(compiled)) == compiled
