"""Serving on a Ray cluster with Ray Serve (guide: ``docs/scale-out.md``).

``build_app({name: uri}, scaling=..., **server settings)`` gives a ``serve.Application``: a light
ingress deployment running modelport's own FastAPI app, and one deployment per model holding it
loaded in each replica, called through deployment handles (streaming included). ``app_builder``
is the same for a Ray Serve config file (``import_path: modelport.ray:app_builder``).
``modelport serve --ray`` deploys it from the command line. Needs ``ray[serve]``.
"""

from __future__ import annotations

from modelport.ray.app import RayAppConfig, Scaling, app_builder, build_app

__all__ = ["RayAppConfig", "Scaling", "app_builder", "build_app"]
