"""SignalRule: the MSP's own entry of the signal taxonomy, tried before the built-in ones."""

from __future__ import annotations

import re
from typing import Annotated, ClassVar

from pydantic import Field, field_validator

from whisperer.operator.models.v1alpha1.alert import SourceTool
from whisperer.operator.models.v1alpha1.common import (
    DNS_LABEL,
    PrinterColumn,
    ResourceInfo,
    Schema,
    StatusBase,
    age_column,
)
from whisperer.operator.models.v1alpha1.resource import Resource

# Constructs Python's `re` takes and RE2 (the API server's CEL, Go) refuses, or that make
# Python backtrack: lookaround, backreferences, conditionals, atomic groups, possessive
# quantifiers, \Z. A pattern must mean the same in the API server and in the shim.
NOT_RE2 = re.compile(r"\(\?(<?[=!]|P=|\(|>)|\\[1-9]|\\g<|[*+?}]\+|\\Z")
# A repeated group that itself repeats, `(a+)+`: catastrophic backtracking in Python's `re`.
# The same expression (RE2 syntax too) is the CRD's CEL rule, so both sides refuse it.
NESTED_QUANTIFIER = r"\((?:[^()\\]|\\.)*[*+}](?:[^()\\]|\\.)*\)[*+{]"

Pattern = Annotated[
    str,
    Field(
        min_length=1,
        max_length=256,
        description="A case-insensitive regular expression (RE2 syntax, the subset Python "
        "shares) searched for in the tool's name for the alert.",
    ),
]


def pattern_problem(pattern: str) -> str | None:
    """Why a pattern cannot be used as the taxonomy uses it, or None when it can."""
    if NOT_RE2.search(pattern):
        return (
            "uses a construct outside RE2 (lookaround, backreference, conditional, "
            "atomic group, possessive quantifier or \\Z)"
        )
    if re.search(NESTED_QUANTIFIER, pattern):
        return "repeats a group that itself repeats (catastrophic backtracking)"
    try:
        re.compile(f"(?:{pattern})", re.IGNORECASE)
    except re.error as exc:
        return f"does not compile: {exc}"
    return None


class SignalRuleSpec(Schema):
    """Which tool names mean which canonical signal, and the signal's category."""

    signal: str = Field(
        pattern=DNS_LABEL,
        min_length=1,
        max_length=63,
        description="The canonical signal the patterns mean: a built-in one (host-down, "
        "backup-failed...) to add patterns or re-categorise it, or a new name.",
    )
    category: str = Field(
        pattern=DNS_LABEL,
        min_length=1,
        max_length=63,
        description="The signal's category (availability, kubernetes, compute, storage, "
        "backup, database, application, security, network, hardware, or a new one), which "
        "RoutingRule.match.signalCategories matches and the alert's label signal_category "
        "carries. It applies to the signal wherever it is recognised, built-in patterns "
        "included.",
    )
    patterns: list[Pattern] = Field(
        min_length=1,
        max_length=32,
        description="Case-insensitive regular expressions; any match recognises the signal.",
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "self.all(p, type(''.matches(p)) == bool)",
                    "message": "every pattern must be a valid RE2 regular expression",
                },
                {
                    "rule": f"self.all(p, !p.matches(r'{NESTED_QUANTIFIER}'))",
                    "message": "a pattern must not repeat a group that itself repeats",
                },
            ]
        },
    )
    sources: list[SourceTool] = Field(
        default_factory=list,
        max_length=8,
        description="Only alerts from these tools; empty for every tool.",
        json_schema_extra={"x-kubernetes-list-type": "set"},
    )
    order: int = Field(
        default=100,
        ge=0,
        le=10000,
        description="Lower orders are tried first (then the name); every SignalRule is tried "
        "before the built-in taxonomy.",
    )
    description: str = Field(
        default="", max_length=1024, description="Why the rule exists (the vendor, a ticket)."
    )

    @field_validator("patterns")
    @classmethod
    def _patterns_compile(cls, patterns: list[str]) -> list[str]:
        for index, pattern in enumerate(patterns):
            problem = pattern_problem(pattern)
            if problem:
                raise ValueError(f"patterns[{index}] {pattern!r} {problem}")
        return patterns


class SignalRule(Resource):
    """An MSP's extension of the signal taxonomy."""

    info: ClassVar[ResourceInfo] = ResourceInfo(
        kind="SignalRule",
        plural="signalrules",
        singular="signalrule",
        short_names=["sig"],
        namespaced=False,
        description="Maps tool names for a problem (case-insensitive patterns) onto a canonical "
        "signal and its category; tried by order before the built-in taxonomy.",
        columns=[
            PrinterColumn(name="Signal", json_path=".spec.signal"),
            PrinterColumn(name="Category", json_path=".spec.category"),
            PrinterColumn(name="Order", json_path=".spec.order", type="integer"),
            PrinterColumn(name="Sources", json_path=".spec.sources", priority=1),
            PrinterColumn(name="Patterns", json_path=".spec.patterns", priority=1),
            age_column(),
        ],
    )
    kind: str = "SignalRule"
    spec: SignalRuleSpec
    status: StatusBase | None = None
