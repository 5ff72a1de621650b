"""The SOP language's JSON Schema (docs/sop.schema.json): current, accepting every seed file."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from rules.schema import language_schema
from tests.conftest import DEFINITIONS, ROOT

SCHEMA_FILE = ROOT / "docs" / "sop.schema.json"
DEFINITION_FILES = sorted(p for p in DEFINITIONS.rglob("*.yaml") if "scenarios" not in p.parts)


def test_committed_schema_is_current() -> None:
    assert json.loads(SCHEMA_FILE.read_text(encoding="utf-8")) == language_schema(), (
        "docs/sop.schema.json is stale: regenerate with `sop schema -o docs/sop.schema.json`"
    )


@pytest.mark.parametrize("path", DEFINITION_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_definition_file_matches_the_schema(path: Path) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    jsonschema.validate(data, language_schema())


def test_the_schema_rejects_an_unknown_key() -> None:
    path = DEFINITIONS / "yogyakarta" / "upik-pengaduan.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["steps"]["verifikasi"]["limt"] = "5 menit"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, language_schema())
