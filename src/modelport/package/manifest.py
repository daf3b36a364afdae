"""The manifest (``modelport.yaml``): what a package holds and how to load it."""

from __future__ import annotations

import platform
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

from modelport.errors import PackageError, SchemaEnforcementError
from modelport.signature import Signature

MANIFEST_FILE = "modelport.yaml"
FORMAT_VERSION = 1


def _modelport_version() -> str:
    from modelport import __version__

    return __version__


@dataclass
class Manifest:
    """Everything ``load_model`` needs to know about a package, and what ``info`` shows."""

    flavor: str
    task: str | None = None
    signature: Signature | None = None
    model_uuid: str = field(default_factory=lambda: uuid.uuid4().hex)
    created: str = field(
        default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds")
    )
    format_version: int = FORMAT_VERSION
    python_version: str = field(default_factory=platform.python_version)
    modelport_version: str = field(default_factory=_modelport_version)
    input_example: str | None = None
    requirements: str = "requirements.txt"
    streamable: bool = False
    size_bytes: int = 0
    metadata: dict[str, Any] = field(default_factory=dict)
    flavor_config: dict[str, Any] = field(default_factory=dict)

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
    def from_dict(cls, data: dict[str, Any], where: str = "manifest") -> Manifest:
        if not isinstance(data, dict) or "flavor" not in data:
            raise PackageError(f"{where} is not a modelport manifest: it has no 'flavor' field")
        version = data.get("format_version")
        if not isinstance(version, int) or version < 1:
            raise PackageError(f"{where} has no valid 'format_version' (got {version!r})")
        if version > FORMAT_VERSION:
            raise PackageError(
                f"{where} has format version {version}, newer than this modelport "
                f"understands ({FORMAT_VERSION}); upgrade modelport to load it"
            )
        signature = data.get("signature")
        try:
            return cls(
                flavor=str(data["flavor"]),
                task=data.get("task"),
                signature=Signature.from_dict(signature) if signature else None,
                model_uuid=str(data.get("model_uuid") or uuid.uuid4().hex),
                created=str(data.get("created", "")),
                format_version=version,
                python_version=str(data.get("python_version", "")),
                modelport_version=str(data.get("modelport_version", "")),
                input_example=data.get("input_example"),
                requirements=str(data.get("requirements") or "requirements.txt"),
                streamable=bool(data.get("streamable", False)),
                size_bytes=int(data.get("size_bytes", 0)),
                metadata=dict(data.get("metadata") or {}),
                flavor_config=dict(data.get("flavor_config") or {}),
            )
        except (TypeError, ValueError, AttributeError, SchemaEnforcementError) as exc:
            raise PackageError(f"{where} is malformed: {exc}") from None

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
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise PackageError(f"{path} is not valid YAML: {exc}") from None
        except OSError as exc:
            raise PackageError(f"{path} cannot be read: {exc.strerror or exc}") from None
        return cls.from_dict(data, where=str(path))


class _PlainDumper(yaml.SafeDumper):
    """Writes repeated sub-schemas out in full instead of as YAML anchors."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def directory_size(directory: Path) -> int:
    return sum(p.stat().st_size for p in directory.rglob("*") if p.is_file())
