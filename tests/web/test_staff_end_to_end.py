"""Every seed procedure driven from its first step to its end through the staff pages alone.

A procedure whose report a member of staff submits (Cirebon: the Call Taker) starts at the staff
form ``/kasus/baru``, signed in as that role's demo login; the others start from a citizen's
submission through the engine.

At each step the test signs in as the demo login of a role the page offers actions to, and
posts the first action that leads somewhere new, with the entries the form asks for (a unit:
the demo unit, so that the demo's unit staff can go on; a choice: its first option; text
otherwise). A step that is the reporter's own (Bantul: the citizen receives the answer) is taken
through the reporter's secret tracking link, as the citizen would. The walk must reach a
terminal step.
"""

from __future__ import annotations

import re

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from rules.model import RoleKind
from sop_platform.demo import demo_unit
from sop_platform.engine import CaseEngine
from tests.web.support import post_form, sign_in
from tests.web.test_permissions import SOP_REGION, SUBMISSIONS, submit
from web.citizen import secret_path
from web.context import Web

MAX_STEPS = 20


def form_fields(page: str, action: str) -> tuple[list[str], dict[str, list[str]]]:
    """The entry inputs of one action's form and the options of its selects."""
    start = page.index(f'<input type="hidden" name="action" value="{action}">')
    form = page[start : page.index("</form>", start)]
    names = re.findall(r'name="(f_[a-z_]+)"', form)
    options: dict[str, list[str]] = {}
    for name in names:
        select = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', form, re.S)
        if select:
            options[name] = [v for v in re.findall(r'<option value="([^"]*)"', select[1]) if v]
    return names, options


@pytest.mark.parametrize("sop_id", sorted(SUBMISSIONS))
def test_a_seed_procedure_runs_to_its_end_through_the_staff_pages(
    client: TestClient[Litestar], app: Litestar, cases: CaseEngine, sop_id: str
) -> None:
    web: Web = app.state.web
    region = SOP_REGION[sop_id]
    home_unit = demo_unit(cases.registry.catalog, region)
    sop = cases.registry.latest(sop_id).sop
    signed_in = ""
    if sop.roles[sop.submission.by].kind is RoleKind.citizen:
        case = submit(cases, sop_id)
    else:
        # Staff-submitted (Cirebon: the Call Taker): recorded through the staff form.
        signed_in = f"{region}.{sop.submission.by}"
        sign_in(client, signed_in)
        spec = SUBMISSIONS[sop_id]
        form = client.get(f"/kasus/baru?sop={sop_id}")
        assert form.status_code == 200
        [token] = re.findall(r'name="token" value="([^"]+)"', form.text)
        data = {"sop": sop_id, "kanal": spec.channel, "isi": "Dicatat melalui formulir petugas"}
        data |= {f"f_{name}": str(value) for name, value in (spec.fields or {}).items()}
        response = post_form(client, "/kasus/baru", {**data, "token": token})
        assert response.status_code == 303, response.text
        case = cases.get(int(response.headers["location"].rsplit("/", 1)[1]))
        assert case.events[0].actor_name != "Pelapor" and case.events[0].role == sop.submission.by
    logins = [f"{region}.{role}" for role, r in sop.roles.items() if r.kind is not RoleKind.citizen]
    visited = [case.step]
    for _ in range(MAX_STEPS):
        view = cases.get(case.id)
        step = sop.steps[view.step]
        if step.terminal:
            break
        if step.by and sop.roles[step.by].kind is RoleKind.citizen:
            link = secret_path(web, view.tracking_number)
            own = client.get(link).text
            [action, *_] = re.findall(r'<input type="hidden" name="action" value="([a-z_]+)">', own)
            data = {"action": action, "revision": str(view.revision)}
            assert post_form(client, f"{link}/tindakan", data).status_code == 303
            visited.append(cases.get(case.id).step)
            continue
        moved = False
        for login in logins:
            if login != signed_in:
                sign_in(client, login)
                signed_in = login
            page = client.get(f"/kasus/{case.id}")
            if page.status_code != 200:
                continue
            actions = re.findall(
                r'<input type="hidden" name="action" value="([a-z_]+)">', page.text
            )
            # Somewhere new first; within that, actions that keep the case in the demo unit.
            ordered = sorted(
                actions,
                key=lambda a: (
                    sop.steps[view.step].actions[a].to in visited,
                    sop.steps[view.step].actions[a].reroute,
                ),
            )
            for action in ordered:
                names, options = form_fields(page.text, action)
                data = {"action": action, "revision": str(cases.get(case.id).revision)}
                for name in names:
                    if name == "f_unit" or (name in options and home_unit in options[name]):
                        data[name] = home_unit or ""
                    elif name in options:
                        data[name] = options[name][0]
                    else:
                        data[name] = "Diisi dalam uji alur lengkap"
                response = post_form(client, f"/kasus/{case.id}/tindakan", data)
                if response.status_code == 303 and cases.get(case.id).step != view.step:
                    moved = True
                    break
            if moved:
                break
        assert moved, f"{sop_id}: nobody could move the case on from {view.step}"
        visited.append(cases.get(case.id).step)
    final = cases.get(case.id)
    assert sop.steps[final.step].terminal, (sop_id, visited)
    assert final.status in ("done", "rejected", "cancelled")
