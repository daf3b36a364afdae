"""What the tracking store hands back: plain frozen records, detached from the database."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

from modelport.signature import Signature

T = TypeVar("T")


class RunStatus:
    RUNNING = "RUNNING"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"
    ALL = ("RUNNING", "FINISHED", "FAILED", "KILLED")


@dataclass(frozen=True)
class Experiment:
    experiment_id: str
    name: str
    artifact_location: str
    lifecycle_stage: str
    creation_time: int
    last_update_time: int
    tags: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Metric:
    key: str
    value: float
    step: int
    timestamp: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    experiment_id: str
    run_name: str
    status: str
    start_time: int
    end_time: int | None
    artifact_uri: str
    parent_run_id: str | None = None


@dataclass(frozen=True)
class RunData:
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    """The latest value of each metric (highest step, then latest timestamp)."""
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LoggedModel:
    model_id: str
    run_id: str
    name: str
    flavor: str
    task: str | None
    model_uri: str
    creation_time: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Run:
    info: RunInfo
    data: RunData
    models: tuple[LoggedModel, ...] = ()

    @property
    def run_id(self) -> str:
        return self.info.run_id

    def to_dict(self) -> dict[str, Any]:
        return {
            "info": asdict(self.info),
            "data": asdict(self.data),
            "models": [m.to_dict() for m in self.models],
        }


class PagedList(list[T]):
    """One page of search results, a plain list; ``token`` asks for the next page (``None``:
    this is the last), as MLflow's ``PagedList``."""

    def __init__(self, items: Iterable[T] = (), token: str | None = None) -> None:
        super().__init__(items)
        self.token = token


@dataclass(frozen=True)
class ModelVersion:
    name: str
    version: int
    source: str
    run_id: str | None
    storage_location: str
    model_id: str | None
    description: str
    creation_time: int
    last_update_time: int
    tags: dict[str, str] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()

    @property
    def model_uri(self) -> str:
        return f"models:/{self.name}/{self.version}"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["aliases"] = list(self.aliases)
        return data


@dataclass(frozen=True)
class RegisteredModel:
    name: str
    description: str
    creation_time: int
    last_update_time: int
    latest_version: int | None
    tags: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ModelInfo:
    """What ``log_model`` returns."""

    model_uri: str
    """``runs:/<run_id>/<name>``"""
    run_id: str
    name: str
    model_uuid: str
    flavor: str
    task: str | None
    signature: Signature | None
    path: str
    """Where the package lies in the artifact store."""
    registered_model_version: int | None = None

    @property
    def artifact_path(self) -> str:
        return self.name

    @property
    def model_id(self) -> str:
        return self.model_uuid

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["signature"] = self.signature.to_dict() if self.signature else None
        return data
