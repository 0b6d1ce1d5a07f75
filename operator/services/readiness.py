"""Whether a config object (from git) is usable: its references resolve and it is coherent.

The API server's schema already refused what one object can say is wrong; this checks what
needs other objects (a Company's SLA policy exists, its assets' dependencies are in the
inventory, a technician serves companies that exist).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from whisperer.operator.models.v1alpha1 import Company, Technician


@dataclass(frozen=True)
class Verdict:
    """The Ready condition to write, and whether waiting may change it."""

    ready: bool
    reason: str
    message: str
    waiting: bool = False


READY = Verdict(True, "Accepted", "The object is valid and its references resolve.")


def company_verdict(
    company: Company, *, sla_policies: Collection[str], missing: str = "does not exist"
) -> Verdict:
    """A company needs its SLA policy, and every asset dependency must be in the inventory.
    The git syncer asks the same before it applies (`missing` says where it looked)."""
    policy = company.spec.sla_policy_ref.name
    if policy not in sla_policies:
        return Verdict(
            False,
            "SLAPolicyNotFound",
            f"SLAPolicy {policy!r} {missing}; incidents would have no deadlines.",
            waiting=True,
        )
    names = {asset.name for asset in company.spec.assets}
    dangling = sorted(
        f"{asset.name} -> {dep}"
        for asset in company.spec.assets
        for dep in asset.depends_on
        if dep not in names
    )
    if dangling:
        return Verdict(
            False,
            "UnknownDependency",
            "assets depend on assets not in the inventory: " + ", ".join(dangling),
        )
    return READY


def technician_verdict(technician: Technician, *, companies: Collection[str]) -> Verdict:
    """A technician's companies must exist (they may arrive later from git: waiting)."""
    missing = sorted(set(technician.spec.companies) - set(companies))
    if missing:
        return Verdict(
            False,
            "CompanyNotFound",
            "serves companies that do not exist: " + ", ".join(missing),
            waiting=True,
        )
    return READY
