"""The model server: OpenAI-compatible endpoints, MLflow's ``/invocations``, probes, limits.

``create_app(ServerConfig(models={"chat": "path/or/uri"}))`` gives an ASGI app;
``modelport serve`` runs it under uvicorn with a graceful shutdown (``server.py``).
"""

from modelport.serving.app import create_app
from modelport.serving.config import ServerConfig

__all__ = ["ServerConfig", "create_app"]
