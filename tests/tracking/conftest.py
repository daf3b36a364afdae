"""Tracking fixtures: a store on SQLite and, when one is available, on a real PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import modelport.tracking as mt
from modelport.tracking import TrackingClient
from modelport.tracking.state import tracking_state

POSTGRES_ENV = "MODELPORT_TEST_POSTGRES_URI"
CHAT_MODEL_CODE = '''
from modelport import ChatModel, set_model
from modelport.types import ChatCompletionResponse


class Echo(ChatModel):
    """Answers with the last user message, prefixed."""

    def predict(self, context, messages, params):
        return ChatCompletionResponse(
            model="echo",
            choices=[{"index": 0, "message": {"role": "assistant",
                                              "content": "echo: " + messages[-1].text}}],
        )


set_model(Echo())
'''


@pytest.fixture(autouse=True)
def _fresh_fluent_state() -> Iterator[None]:
    """No active run, experiment or tracking URI leaks from one test into the next."""
    yield
    while mt.active_run() is not None:
        mt.end_run()
    tracking_state.reset()


@pytest.fixture
def chat_model_file(tmp_path: Path) -> Path:
    path = tmp_path / "echo_model.py"
    path.write_text(CHAT_MODEL_CODE, encoding="utf-8")
    return path


def _postgres_base() -> str:
    uri = os.environ.get(POSTGRES_ENV)
    if not uri:
        pytest.skip(
            f"no PostgreSQL server: set {POSTGRES_ENV}=postgresql+psycopg://... "
            "(scripts/test starts one when CI=true)"
        )
    return uri


@pytest.fixture
def postgres_uri() -> Iterator[str]:
    """A tracking URI on the test PostgreSQL, in a schema of its own (dropped afterwards)."""
    from sqlalchemy import create_engine, text

    base = _postgres_base()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:
        admin.dispose()
        pytest.skip(f"PostgreSQL at {POSTGRES_ENV} is not usable: {exc}")
    separator = "&" if "?" in base else "?"
    yield f"{base}{separator}options=-csearch_path%3D{schema}"
    tracking_state.close_stores()
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_uri(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same tests on an embedded SQLite file and on a real PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    uri: str = request.getfixturevalue("postgres_uri")
    return uri


@pytest.fixture
def client(store_uri: str, tmp_path: Path) -> TrackingClient:
    return TrackingClient(store_uri, artifact_root=tmp_path / "artifacts")
