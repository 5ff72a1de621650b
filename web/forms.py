"""The submission form's pieces shared by the citizen report (``/lapor``) and the staff one
(``/kasus/baru``): which SOP fields a reporter fills and their inputs."""

from __future__ import annotations

from dataclasses import dataclass

from rules.model import FieldType, Sop
from web import i18n
from web.staff import field_label

# Form names of the SOP's fields: ``f_<field>`` (the case page's action forms use the same).
ENTRY_PREFIX = "f_"


def submission_fields(sop: Sop) -> list[str]:
    """The SOP's fields a reporter fills: those no action asks staff for."""
    by_actions = {
        name
        for step in sop.steps.values()
        for action in step.actions.values()
        for name in (*action.requires, *action.accepts)
    }
    return [name for name in sop.fields if name not in by_actions]


@dataclass(frozen=True)
class FormInput:
    name: str
    label: str
    kind: str  # select, textarea, input
    input_type: str
    options: tuple[tuple[str, str], ...]
    required: bool
    value: str


def field_inputs(sop: Sop, values: dict[str, str], lang: str) -> list[FormInput]:
    """The inputs of the SOP's submission fields, filled from ``values`` (``f_<name>``)."""
    out = []
    for name in submission_fields(sop):
        spec = sop.fields[name]
        label = field_label(sop, name)
        value = values.get(ENTRY_PREFIX + name, "")
        key = ENTRY_PREFIX + name
        if spec.type is FieldType.choice:
            options = tuple((str(o), str(o)) for o in spec.options)
            out.append(FormInput(key, label, "select", "", options, spec.required, value))
        elif spec.type is FieldType.boolean:
            yes, no = i18n.translate("common.yes", lang), i18n.translate("common.no", lang)
            options = (("ya", yes), ("tidak", no))
            out.append(FormInput(key, label, "select", "", options, spec.required, value))
        elif spec.type in (FieldType.number, FieldType.date):
            kind = "number" if spec.type is FieldType.number else "date"
            out.append(FormInput(key, label, "input", kind, (), spec.required, value))
        else:
            out.append(FormInput(key, label, "input", "text", (), spec.required, value))
    return out
