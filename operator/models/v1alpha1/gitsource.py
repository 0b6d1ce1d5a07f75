"""GitSource: the config repo the syncer applies, and what it last applied."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import ConfigDict, Field

from whisperer.operator.models.v1alpha1.common import (
    DURATION,
    PrinterColumn,
    ResourceInfo,
    Schema,
    SecretReference,
    StatusBase,
    age_column,
    ready_column,
)
from whisperer.operator.models.v1alpha1.resource import Resource


class GitRef(Schema):
    """Which revision to follow: exactly one of branch, tag or commit."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "[has(self.branch), has(self.tag), has(self.commit)]"
                    ".filter(x, x).size() == 1",
                    "message": "give exactly one of branch, tag or commit",
                }
            ]
        }
    )
    branch: str | None = Field(default=None, max_length=255, description="A branch to follow.")
    tag: str | None = Field(default=None, max_length=255, description="A tag.")
    commit: str | None = Field(
        default=None, pattern=r"^[0-9a-f]{40}$", description="A full commit SHA-1."
    )


class Verification(Schema):
    """Commit signature verification."""

    mode: str = Field(default="HEAD", pattern=r"^HEAD$", description="What is verified.")
    format: Literal["auto", "ssh", "openpgp"] = Field(
        default="auto",
        description="The signature kind accepted: ssh, openpgp, or auto (the kind the commit "
        "carries, checked against the Secret's keys of that kind).",
    )
    secret_ref: SecretReference = Field(
        description="A Secret whose values hold the trusted public keys: SSH public keys or "
        "allowed-signers lines, and/or ASCII-armoured OpenPGP public key blocks."
    )


class GitSourceSpec(Schema):
    """Where the configuration lives and how it is synced."""

    url: str = Field(
        pattern=r"^(https?|ssh|file)://.+|^[\w.-]+@[\w.-]+:.+$",
        max_length=2048,
        description="The repository: https://, ssh://, git@host:path or file://.",
    )
    ref: GitRef = Field(default_factory=lambda: GitRef(branch="main"), description="The revision.")
    path: str = Field(
        default="./",
        max_length=1024,
        pattern=r"^[^\s]*$",
        description="The folder in the repo with the YAML.",
        json_schema_extra={
            "x-kubernetes-validations": [
                {"rule": "!self.contains('..')", "message": "path must not contain '..'"}
            ]
        },
    )
    interval: str = Field(
        default="1m",
        pattern=DURATION,
        description="How often to fetch.",
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "duration(self) >= duration('10s')",
                    "message": "interval must be at least 10s",
                }
            ]
        },
    )
    timeout: str = Field(default="60s", pattern=DURATION, description="The fetch timeout.")
    secret_ref: SecretReference | None = Field(
        default=None, description="Credentials: a token (https) or an SSH key (ssh)."
    )
    prune: bool = Field(default=True, description="Delete objects that left git.")
    allow_empty: bool = Field(
        default=False, description="Allow a revision with no objects to prune everything."
    )
    suspend: bool = Field(default=False, description="Stop syncing.")
    verify: Verification | None = Field(default=None, description="Require signed commits.")


class InventoryEntry(Schema):
    """One object the source applied."""

    id: str = Field(max_length=512, description="namespace_name_group_kind.")
    v: str = Field(max_length=64, description="The API version it was applied with.")


class FileError(Schema):
    """Why one document of one file was refused."""

    file: str = Field(max_length=1024, description="The path in the repo.")
    document: int = Field(ge=0, description="The document's index in the file, from 0.")
    message: str = Field(max_length=4096, description="What is wrong.")


class GitSourceStatus(StatusBase):
    """What was fetched, what was applied, and what failed."""

    last_applied_revision: str | None = Field(default=None, description="The revision in force.")
    last_attempted_revision: str | None = Field(default=None, description="The last one tried.")
    last_sync_time: datetime | None = Field(default=None, description="When it last synced.")
    inventory: list[InventoryEntry] = Field(
        default_factory=list, max_length=5000, description="What the source applied."
    )
    errors: list[FileError] = Field(
        default_factory=list, max_length=50, description="Per-file errors of the last attempt."
    )
    last_handled_request: str | None = Field(
        default=None,
        max_length=253,
        description="The last alertwhisperer.io/reconcile-requested-at value acted on.",
    )


class GitSource(Resource):
    """The config repo."""

    info: ClassVar[ResourceInfo] = ResourceInfo(
        kind="GitSource",
        plural="gitsources",
        singular="gitsource",
        short_names=["gs"],
        namespaced=True,
        description="The config repo: url, revision, path, interval, credentials, prune; "
        "status shows applied and attempted revisions.",
        columns=[
            PrinterColumn(name="URL", json_path=".spec.url"),
            PrinterColumn(name="Revision", json_path=".status.lastAppliedRevision"),
            PrinterColumn(name="Suspended", json_path=".spec.suspend", type="boolean", priority=1),
            ready_column(),
            age_column(),
        ],
    )
    kind: str = "GitSource"
    spec: GitSourceSpec
    status: GitSourceStatus | None = None
