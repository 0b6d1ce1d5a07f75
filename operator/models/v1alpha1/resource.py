"""The envelope every kind shares: apiVersion, kind, metadata, spec and status."""

from __future__ import annotations

from typing import Any, ClassVar, Self

from pydantic import Field

from whisperer.operator.models.v1alpha1.common import API_VERSION, ObjectMeta, ResourceInfo, Schema


class Resource(Schema):
    """A custom resource as the API server serves it; subclasses fix `spec` and `status`."""

    info: ClassVar[ResourceInfo]
    api_version: str = Field(default=API_VERSION, alias="apiVersion")
    kind: str
    metadata: ObjectMeta

    @classmethod
    def from_body(cls, body: dict[str, Any] | Any) -> Self:
        """Parse a raw Kubernetes body (a dict or a Kopf Body) into the model."""
        return cls.model_validate(dict(body))

    def to_body(self) -> dict[str, Any]:
        """The wire form, with camelCase names and unset optional fields left out."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")
