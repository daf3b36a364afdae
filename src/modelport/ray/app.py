"""``build_app``: modelport's server as a Ray Serve application, and the builder a Ray Serve
config file names (``import_path: modelport.ray:app_builder``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field, field_validator, model_validator

from modelport.errors import InvalidRequestError
from modelport.ray.deployments import Ingress, ModelReplica
from modelport.settings import Settings

# The server settings the ingress takes (those of ServerConfig that are not about the models).
SERVER_SETTINGS = (
    "api_key",
    "cors_origins",
    "max_concurrency",
    "max_queue",
    "timeout",
    "max_body_size",
    "body_timeout",
    "retry_after",
    "ui",
    "ui_store",
)


class Scaling(Settings):
    """How one model's deployment scales: a fixed number of replicas, or autoscaling between
    ``min_replicas`` and ``max_replicas`` on the requests each replica has in flight."""

    replicas: int | None = Field(None, ge=1)
    min_replicas: int | None = Field(None, ge=0)
    max_replicas: int | None = Field(None, ge=1)
    target_ongoing_requests: float = Field(8.0, gt=0)
    max_ongoing_requests: int = Field(64, ge=1)
    max_queued_requests: int = Field(-1, ge=-1)
    num_cpus: float = Field(1.0, ge=0)

    @model_validator(mode="after")
    def _one_way(self) -> Scaling:
        autoscale = self.min_replicas is not None or self.max_replicas is not None
        if autoscale and self.replicas is not None:
            raise ValueError("give replicas or min_replicas/max_replicas (autoscaling), not both")
        if autoscale and (self.min_replicas is None or self.max_replicas is None):
            raise ValueError("autoscaling needs both min_replicas and max_replicas")
        if autoscale and self.min_replicas > self.max_replicas:  # type: ignore[operator]
            raise ValueError(
                f"min_replicas ({self.min_replicas}) is above max_replicas ({self.max_replicas})"
            )
        return self

    def deployment_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {
            "max_ongoing_requests": self.max_ongoing_requests,
            "max_queued_requests": self.max_queued_requests,
            "ray_actor_options": {"num_cpus": self.num_cpus},
        }
        if self.min_replicas is not None:
            options["autoscaling_config"] = {
                "min_replicas": self.min_replicas,
                "initial_replicas": max(self.min_replicas, 1),
                "max_replicas": self.max_replicas,
                "target_ongoing_requests": self.target_ongoing_requests,
                "upscale_delay_s": 2.0,
                "downscale_delay_s": 10.0,
            }
        else:
            options["num_replicas"] = self.replicas or 1
        return options


class RayAppConfig(Settings):
    """What :func:`build_app` takes, also as the ``args`` of a Ray Serve config file."""

    models: Mapping[str, str]
    scaling: Mapping[str, Scaling] = Field(default_factory=dict)
    load_options: Mapping[str, Any] = Field(default_factory=dict)
    server: Mapping[str, Any] = Field(default_factory=dict)
    drain_seconds: float = Field(30.0, gt=0)

    @field_validator("models")
    @classmethod
    def _some_models(cls, value: Mapping[str, str]) -> Mapping[str, str]:
        if not value:
            raise ValueError("no model to serve: give at least one name → URI")
        return value

    @model_validator(mode="after")
    def _known_names(self) -> RayAppConfig:
        unknown = sorted(set(self.scaling) - set(self.models))
        if unknown:
            raise ValueError(
                f"scaling names models that are not served: {', '.join(unknown)} "
                f"(served: {', '.join(self.models)})"
            )
        wrong = sorted(set(self.server) - set(SERVER_SETTINGS))
        if wrong:
            raise ValueError(
                f"unknown server settings: {', '.join(wrong)} (accepted: "
                f"{', '.join(SERVER_SETTINGS)})"
            )
        return self


def _deployment_name(model: str) -> str:
    return f"model-{model}"


def build_app(
    models: Mapping[str, str],
    *,
    scaling: Mapping[str, Scaling | Mapping[str, Any]] | None = None,
    load_options: Mapping[str, Any] | None = None,
    drain_seconds: float = 30.0,
    **server: Any,
) -> Any:
    """A ``serve.Application`` serving ``models`` (name → URI) as ``modelport serve`` does.

    One deployment per model (``model-<name>``) holds the loaded model in each replica;
    ``scaling`` sets each model's replicas or autoscaling (:class:`Scaling`). ``load_options`` go
    to ``load_model`` in every replica (``{"batching": False}``...). The other keywords are the
    server's settings: ``api_key``, ``max_concurrency``, ``max_queue``, ``timeout``, ``ui``,
    ``ui_store``...
    ``drain_seconds``: how long a replica being stopped lets its requests finish.
    Deploy it with ``serve.run(build_app(...), route_prefix="/")``.
    """
    from ray import serve

    config = RayAppConfig.parse(
        {
            "models": dict(models),
            "scaling": dict(scaling or {}),
            "load_options": dict(load_options or {}),
            "server": server,
            "drain_seconds": drain_seconds,
        },
        "the Ray app's settings",
    )
    from modelport.package.manifest import Manifest
    from modelport.package.uri import is_local_uri, resolve_model_uri
    from modelport.serving.served import options_per_model

    # Each model gets the load options its flavor takes; one no model takes is refused now.
    # (This reads the manifests here, so a package that does not exist fails before deploying.)
    options = options_per_model(config.models, config.load_options)
    uris = dict(config.models)
    for name, uri in uris.items():
        if is_local_uri(uri):  # a local package must be there (and readable) before deploying
            path = resolve_model_uri(uri)
            Manifest.read(path)
            uris[name] = str(path.absolute())  # replicas need not share this process's cwd
    settings = dict(config.server)
    if settings.get("ui_store") is not None:  # a relative folder or SQLite file, made absolute
        from modelport.tracking.config import resolve_store

        settings["ui_store"] = resolve_store(settings["ui_store"]).db_uri
    handles: dict[str, Any] = {}
    for name, uri in uris.items():
        scale = config.scaling.get(name) or Scaling()
        deployment = serve.deployment(
            name=_deployment_name(name),
            graceful_shutdown_timeout_s=config.drain_seconds,
            **scale.deployment_options(),
        )(ModelReplica)
        handles[name] = deployment.bind(name, uri, options[name], scale.max_ongoing_requests)
    ingress = serve.deployment(
        name="ingress",
        ray_actor_options={"num_cpus": 0},
        graceful_shutdown_timeout_s=config.drain_seconds,
        max_ongoing_requests=max(1000, int(config.server.get("max_concurrency", 32)) * 4),
    )(serve.ingress()(Ingress))
    return ingress.bind(handles, settings)


def app_builder(args: Mapping[str, Any]) -> Any:
    """The entry point of a Ray Serve config file (``import_path: modelport.ray:app_builder``);
    its ``args`` are :class:`RayAppConfig`'s fields."""
    if not isinstance(args, Mapping):
        raise InvalidRequestError(
            "the Ray Serve config's args must be a mapping with 'models' (name: URI) and "
            "optionally 'scaling', 'load_options', 'server'"
        )
    config = RayAppConfig.parse(dict(args), "the Ray Serve config's args")
    return build_app(
        config.models,
        scaling=dict(config.scaling),
        load_options=config.load_options,
        drain_seconds=config.drain_seconds,
        **config.server,
    )
