"""The JSON Schema of the SOP language, generated from the definition model (for editors)."""

from __future__ import annotations

from typing import Any

from rules.model import Region, Sop


def language_schema() -> dict[str, Any]:
    """One schema accepting either an SOP file or a region file."""
    sop = Sop.model_json_schema(mode="validation")
    region = Region.model_json_schema(mode="validation")
    defs: dict[str, Any] = {**sop.pop("$defs", {}), **region.pop("$defs", {})}
    defs["Sop"] = sop
    defs["Region"] = region
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "SOP platform definition file (an SOP or a region)",
        "oneOf": [{"$ref": "#/$defs/Sop"}, {"$ref": "#/$defs/Region"}],
        "$defs": defs,
    }
