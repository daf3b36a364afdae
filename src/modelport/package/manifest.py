"""The manifest (``modelport.yaml``): what a package holds and how to load it."""

from __future__ import annotations

import platform
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, ClassVar

import yaml
from pydantic import ConfigDict, Field, ValidationError, field_validator

from modelport.errors import ModelportError, PackageError, SchemaEnforcementError
from modelport.settings import Settings, explain
from modelport.signature import Signature

MANIFEST_FILE = "modelport.yaml"
FORMAT_VERSION = 1


def _modelport_version() -> str:
    from modelport import __version__

    return __version__


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class Manifest(Settings):
    """Everything ``load_model`` needs to know about a package, and what ``info`` shows.

    Read with pydantic: a field of the wrong type is a ``PackageError`` naming it
    (``streamable: "false"`` is False, ``streamable: "maybe"`` an error); fields this version
    does not know are ignored, so a package written by a newer modelport of the same format loads.
    """

    model_config = ConfigDict(extra="ignore", arbitrary_types_allowed=True)
    error: ClassVar[type[ModelportError]] = PackageError

    flavor: str
    task: str | None = None
    signature: Signature | None = None
    model_uuid: str = Field(default_factory=lambda: uuid.uuid4().hex)
    created: str = Field(default_factory=_now)
    format_version: int = Field(FORMAT_VERSION, ge=1)
    python_version: str = Field(default_factory=platform.python_version)
    modelport_version: str = Field(default_factory=_modelport_version)
    input_example: str | None = None
    requirements: str = "requirements.txt"
    streamable: bool = False
    size_bytes: int = Field(0, ge=0)
    metadata: dict[str, Any] = Field(default_factory=dict)
    flavor_config: dict[str, Any] = Field(default_factory=dict)

    @field_validator("signature", mode="before")
    @classmethod
    def _signature(cls, value: Any) -> Signature | None:
        if value is None or isinstance(value, Signature):
            return value
        if not isinstance(value, dict):
            raise ValueError(f"a signature is a mapping, got {type(value).__name__}")
        try:
            return Signature.from_dict(value)
        except (SchemaEnforcementError, TypeError, AttributeError) as exc:
            raise ValueError(str(exc)) from None

    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": self.format_version,
            "flavor": self.flavor,
            "task": self.task,
            "model_uuid": self.model_uuid,
            "created": self.created,
            "python_version": self.python_version,
            "modelport_version": self.modelport_version,
            "streamable": self.streamable,
            "size_bytes": self.size_bytes,
            "requirements": self.requirements,
            "input_example": self.input_example,
            "signature": self.signature.to_dict() if self.signature else None,
            "metadata": self.metadata,
            "flavor_config": self.flavor_config,
        }

    @classmethod
    def from_dict(cls, data: Any, where: str = "manifest") -> Manifest:
        if not isinstance(data, dict) or "flavor" not in data:
            raise PackageError(f"{where} is not a modelport manifest: it has no 'flavor' field")
        version = data.get("format_version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise PackageError(f"{where} has no valid 'format_version' (got {version!r})")
        if version > FORMAT_VERSION:
            raise PackageError(
                f"{where} has format version {version}, newer than this modelport "
                f"understands ({FORMAT_VERSION}); upgrade modelport to load it"
            )
        # What was not recorded stays unknown (not "now", not this Python); a null that stands
        # for "nothing" reads as the field's empty value.
        fields = {"created": "", "python_version": "", "modelport_version": "", **data}
        for name in ("model_uuid", "requirements", "metadata", "flavor_config"):
            if fields.get(name) is None:
                fields.pop(name, None)
        # hand-edited YAML reads `created: 2024-01-01T00:00:00Z` as a datetime and
        # `python_version: 3.10` as a number: these were always read as their text
        for name in ("created", "python_version", "modelport_version"):
            value = fields.get(name)
            if isinstance(value, (int, float, datetime)) and not isinstance(value, bool):
                fields[name] = value.isoformat() if isinstance(value, datetime) else str(value)
        try:
            return cls.model_validate(fields)
        except ValidationError as exc:
            reason, param = explain(exc, cls)
            at = f" at '{param}'" if param else ""
            raise PackageError(f"{where} is malformed{at}: {reason}", param=param) from None

    def write(self, directory: Path) -> None:
        text = yaml.dump(self.to_dict(), Dumper=_PlainDumper, sort_keys=False, allow_unicode=True)
        (directory / MANIFEST_FILE).write_text(text, encoding="utf-8")

    @classmethod
    def read(cls, directory: Path) -> Manifest:
        path = directory / MANIFEST_FILE
        if directory.is_file():
            raise PackageError(
                f"'{directory}' is a file, not a modelport package (a directory with a "
                f"{MANIFEST_FILE})"
            )
        if not path.is_file():
            raise PackageError(
                f"'{directory}' is not a modelport package: it has no {MANIFEST_FILE}"
            )
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise PackageError(f"{path} cannot be read: {exc.strerror or exc}") from None
        return cls.from_yaml(text, where=str(path))

    @classmethod
    def from_yaml(cls, text: str, where: str) -> Manifest:
        """The manifest in the YAML ``text`` (read from ``where``, which errors name)."""
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise PackageError(f"{where} is not valid YAML: {exc}") from None
        return cls.from_dict(data, where=where)


class _PlainDumper(yaml.SafeDumper):
    """Writes repeated sub-schemas out in full instead of as YAML anchors."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def directory_size(directory: Path) -> int:
    return sum(p.stat().st_size for p in directory.rglob("*") if p.is_file())
