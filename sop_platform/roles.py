"""Platform roles: duties that no SOP names but every region needs.

An SOP's roles (``admin_opd``, ``petugas_lapangan`` ...) act on cases. The roles here never act on
a case (``Actor.roles_for`` only returns roles the case's SOP declares); they open other parts of
the platform for a region:

* ``kepatuhan`` — the compliance officer (petugas kepatuhan SOP, often from the Inspektorat or
  the Bagian Organisasi): reads and exports the SOP conformance reports of the region.
* ``admin_daerah`` — the region's administrator: users, units, API keys, SOP versions, the audit
  log.

They are granted like any role (``sop user add NAME --role yogyakarta:kepatuhan``) and an SOP may
not declare a role of the same name (the validator says so).
"""

from __future__ import annotations

from rules.model import PLATFORM_ROLE_IDS
from sop_platform.cases import Actor

KEPATUHAN, ADMIN_DAERAH = PLATFORM_ROLE_IDS

PLATFORM_ROLES: dict[str, str] = {
    KEPATUHAN: "Petugas Kepatuhan SOP",
    ADMIN_DAERAH: "Administrator Daerah",
}


def regions_with(actor: Actor, role: str) -> list[str]:
    """The regions in which the actor holds the platform role ``role``."""
    return sorted({g.region for g in actor.grants if g.role == role})


def holds(actor: Actor, role: str, region: str) -> bool:
    return any(g.role == role and g.region == region for g in actor.grants)
