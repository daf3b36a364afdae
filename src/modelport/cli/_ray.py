"""``modelport serve --ray``: the same server deployed on a Ray cluster with Ray Serve."""

from __future__ import annotations

import argparse
import logging
import re
import signal
import socket
import threading
from collections.abc import Callable, Mapping
from typing import Any

from modelport.errors import InvalidRequestError, ModelportError

APP_NAME = "modelport"
_COUNT = re.compile(r"^\d+$")
_RANGE = re.compile(r"^(\d+):(\d+)$")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("Ray Serve (scale out)")
    group.add_argument(
        "--ray",
        action="store_true",
        help="deploy on a Ray cluster with Ray Serve: an ingress plus one deployment per model "
        "(a local cluster is started unless --ray-address is given)",
    )
    group.add_argument(
        "--ray-address",
        default=None,
        metavar="ADDRESS",
        help="with --ray: the cluster to join (e.g. ray://head:10001 or auto)",
    )
    group.add_argument(
        "--replicas",
        action="append",
        default=[],
        metavar="[NAME=]N",
        help="with --ray: N replicas of every model, or of model NAME (repeatable; default 1)",
    )
    group.add_argument(
        "--autoscale",
        action="append",
        default=[],
        metavar="[NAME=]MIN:MAX",
        help="with --ray: autoscale every model, or model NAME, between MIN and MAX replicas on "
        "the requests in flight (repeatable)",
    )
    group.add_argument(
        "--replica-cpus",
        type=float,
        default=1.0,
        metavar="CPUS",
        help="with --ray: CPUs Ray reserves for each model replica (1)",
    )


def _per_model(
    values: list[str], models: Mapping[str, str], flag: str, pattern: re.Pattern[str], form: str
) -> dict[str, re.Match[str]]:
    found: dict[str, re.Match[str]] = {}
    for value in values:
        name, sep, amount = value.rpartition("=")
        targets = [name] if sep else list(models)
        if sep and name not in models:
            raise InvalidRequestError(
                f"{flag} {value!r}: no served model is named '{name}' (served: {', '.join(models)})"
            )
        match = pattern.match(amount)
        if match is None:
            raise InvalidRequestError(f"{flag} {value!r}: use {form}")
        for target in targets:
            found[target] = match
    return found


def scaling_of(args: argparse.Namespace, models: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """Each model's :class:`~modelport.ray.Scaling` fields from ``--replicas``/``--autoscale``."""
    replicas = _per_model(args.replicas, models, "--replicas", _COUNT, "N or NAME=N")
    autoscale = _per_model(args.autoscale, models, "--autoscale", _RANGE, "MIN:MAX or NAME=MIN:MAX")
    both = sorted(set(replicas) & set(autoscale))
    if both:
        raise InvalidRequestError(
            f"--replicas and --autoscale both set model '{both[0]}': give one of them"
        )
    scaling: dict[str, dict[str, Any]] = {}
    for name in models:
        fields: dict[str, Any] = {"num_cpus": args.replica_cpus}
        if name in replicas:
            fields["replicas"] = int(replicas[name].group(0))
        elif name in autoscale:
            low, high = autoscale[name].groups()
            fields["min_replicas"], fields["max_replicas"] = int(low), int(high)
        scaling[name] = fields
    return scaling


def check_flags(args: argparse.Namespace) -> None:
    """Ray's flags without --ray, and the single-process flags with it, are refused."""
    if not args.ray:
        for flag, given in (
            ("--ray-address", args.ray_address is not None),
            ("--replicas", bool(args.replicas)),
            ("--autoscale", bool(args.autoscale)),
            ("--replica-cpus", args.replica_cpus != 1.0),
        ):
            if given:
                raise InvalidRequestError(f"{flag} is an option of Ray serving: add --ray")
        return
    if args.replica_cpus < 0:
        raise InvalidRequestError(f"--replica-cpus must be 0 or more, got {args.replica_cpus}")


def check_fit(
    scaling: Mapping[str, Mapping[str, Any]], cpus: float, started: bool, say: Callable[[str], None]
) -> None:
    """Ray waits, without a word, for replicas whose CPUs no node has: a cluster this command
    started cannot grow, so replicas that do not fit it are refused; on a joined cluster (whose
    autoscaler may add nodes) they are a warning, as are autoscaling maxima above its CPUs."""
    first = sum(
        (fields.get("replicas") or max(fields.get("min_replicas") or 0, 1)) * fields["num_cpus"]
        for fields in scaling.values()
    )
    most = sum(
        (fields.get("max_replicas") or fields.get("replicas") or 1) * fields["num_cpus"]
        for fields in scaling.values()
    )
    hint = "give fewer --replicas or a smaller --replica-cpus (0.5 shares a CPU by two)"
    if first > cpus + 1e-9:
        message = (
            f"the replicas need {first:g} CPUs to start and the Ray cluster has {cpus:g} "
            f"(--replica-cpus {max(f['num_cpus'] for f in scaling.values()):g} each)"
        )
        if started:
            raise InvalidRequestError(f"{message}: Ray would wait for them forever; {hint}")
        say(f"warning: {message}: they wait until nodes join; {hint}")
    elif most > cpus + 1e-9:
        say(
            f"warning: autoscaling to the most replicas needs {most:g} CPUs and the Ray cluster "
            f"has {cpus:g}: replicas beyond that wait for nodes"
        )


def _port(host: str, port: int) -> int:
    if port:
        return port
    with socket.socket() as probe:  # Ray's proxy needs a number: take a free one
        probe.bind((host, 0))
        chosen: int = probe.getsockname()[1]
        return chosen


def _proxy_address(host: str, port: int) -> tuple[str, int]:
    """Where Ray Serve's HTTP proxy listens: on a cluster whose Serve was already started, its
    own address, not the one asked for."""
    try:
        from ray.serve.context import _get_global_client

        client = _get_global_client()
        if client is None:
            return host, port
        return str(client.http_config.host), int(client.http_config.port)
    except Exception:  # an older or newer Ray without this: what was asked for
        return host, port


def _why_not_deployed(serve: Any) -> str | None:
    """The reason Ray Serve gives for each deployment that failed, one line each (the last line
    of the replica's traceback: the error itself)."""
    try:
        application = serve.status().applications[APP_NAME]
    except Exception:
        return None
    reasons = []
    for name, deployment in application.deployments.items():
        lines = [line.strip() for line in str(deployment.message or "").splitlines()]
        lines = [line for line in lines if line]
        if str(deployment.status) != "HEALTHY" and lines:
            reasons.append(f"{name}: {lines[-1]}")
    return "; ".join(reasons) or None


def serve_on_ray(
    args: argparse.Namespace,
    models: Mapping[str, str],
    server: Mapping[str, Any],
    load_options: Mapping[str, Any],
    say: Callable[[str], None],
    ready: Callable[[str], None],
) -> int:
    """Deploy on Ray, print where, block until Ctrl+C or SIGTERM, then remove the app."""
    try:
        import ray
        from ray import serve
    except ImportError:
        raise InvalidRequestError(
            "--ray needs Ray Serve, which is not installed: pip install 'modelport[ray]'"
        ) from None
    from modelport.ray import build_app

    scaling = scaling_of(args, models)
    app = build_app(
        models,
        scaling=scaling,
        load_options=load_options,
        drain_seconds=args.shutdown_timeout,
        **server,
    )
    port = _port(args.host, args.port)
    started_cluster = args.ray_address is None
    say(f"connecting to Ray ({args.ray_address or 'a new local cluster'})")
    if args.log_level != "debug":  # the notice that a local cluster takes Ray's token auth
        logging.getLogger("ray._private.authentication").setLevel(logging.ERROR)
    ray.init(
        address=args.ray_address or "local",  # "local": a new cluster, never a running one
        include_dashboard=False,
        log_to_driver=args.log_level == "debug",
        logging_level=logging.DEBUG if args.log_level == "debug" else logging.WARNING,
    )
    if args.log_level != "debug":
        logging.getLogger("ray.serve").setLevel(logging.WARNING)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        check_fit(scaling, float(ray.cluster_resources().get("CPU", 0)), started_cluster, say)
        serve.start(http_options={"host": args.host, "port": port})
        host, port = _proxy_address(args.host, port)
        base = f"http://{host}:{port}"
        say(f"modelport serving at {base} on Ray (OpenAI base URL: {base}/v1)")
        say(f"deploying {len(models)} model{'s' if len(models) > 1 else ''}: {', '.join(models)}")
        try:
            serve.run(app, name=APP_NAME, route_prefix="/")
        except ModelportError:
            raise
        except Exception as exc:
            raise InvalidRequestError(
                f"Ray could not deploy the models: {_why_not_deployed(serve) or exc}"
            ) from None
        ready(base)
        stop.wait()
        say("stopping")
        serve.delete(APP_NAME)
    finally:
        if started_cluster:
            serve.shutdown()
            ray.shutdown()
    say("stopped")
    return 0
