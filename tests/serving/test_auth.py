"""API keys: the check alone, then a server that requires one."""

from __future__ import annotations

import httpx
import openai
import pytest

from modelport.errors import AuthenticationError
from modelport.serving.auth import check_api_key

MSG = [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (None, "Missing API key"),
        ("", "Missing API key"),
        ("Basic abc", "Bearer"),
        ("Bearer", "Bearer"),
        ("Bearer wrong", "Incorrect"),
        ("Bearer s3cret-but-longer", "Incorrect"),
    ],
)
def test_bad_keys_are_refused(header: str | None, message: str) -> None:
    with pytest.raises(AuthenticationError, match=message) as caught:
        check_api_key(header, "s3cret")
    assert caught.value.status_code == 401


def test_the_right_key_passes() -> None:
    check_api_key("Bearer s3cret", "s3cret")
    check_api_key("bearer  s3cret ", "s3cret")


def test_server_with_a_key(serve, packages: dict[str, str]) -> None:
    server = serve({"echo": packages["echo"]}, api_key="s3cret")
    with openai.OpenAI(base_url=server.v1, api_key="wrong", max_retries=0) as bad:
        with pytest.raises(openai.AuthenticationError) as caught:
            bad.chat.completions.create(model="echo", messages=MSG)
        assert caught.value.status_code == 401
    with openai.OpenAI(base_url=server.v1, api_key="s3cret", max_retries=0) as good:
        assert good.chat.completions.create(model="echo", messages=MSG).choices
        assert [m.id for m in good.models.list()] == ["echo"]
    missing = httpx.post(f"{server.url}/invocations", json={"messages": MSG})
    assert missing.status_code == 401
    assert missing.json()["error"]["type"] == "authentication_error"
    assert httpx.get(f"{server.url}/metrics").status_code == 401
    for open_path in ("/ping", "/health", "/docs", "/openapi.json"):
        assert httpx.get(f"{server.url}{open_path}").status_code == 200, open_path
