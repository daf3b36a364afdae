"""The registry: entry points, names, overrides, detection from chat templates."""

from __future__ import annotations

import importlib.metadata
from collections.abc import Iterator
from typing import Any

import pytest

from modelport.errors import InvalidRequestError
from modelport.structured.tools import (
    ENTRY_POINT_GROUP,
    detect_format,
    format_names,
    get_format,
    register_format,
    registry,
)
from modelport.structured.tools.hermes import HermesFormat

BUILT_IN = ["generic", "hermes", "llama3_json", "mistral"]


@pytest.fixture
def clean_registry() -> Iterator[None]:
    saved = dict(registry._registry)
    yield
    registry._registry.clear()
    registry._registry.update(saved)


def test_the_built_ins_are_entry_points_like_any_plug_in() -> None:
    entries = {e.name: e for e in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}
    assert set(BUILT_IN) <= set(entries)
    for name in BUILT_IN:
        assert entries[name].load().name == name
        assert get_format(name).name == name
    assert set(BUILT_IN) <= set(format_names())


def test_an_unknown_format_is_refused_listing_the_installed_ones() -> None:
    with pytest.raises(InvalidRequestError) as caught:
        get_format("pythonic")
    assert caught.value.param == "tool_call_format"
    assert "Unknown tool-call format 'pythonic'" in caught.value.message
    assert "installed formats: generic, hermes, llama3_json, mistral" in caught.value.message


def test_a_registered_format_is_found_by_name_and_detection(clean_registry: None) -> None:
    class Pythonic(HermesFormat):
        name = "pythonic"

        def detects(self, chat_template: str) -> bool:
            return "<|python_start|>" in chat_template

    register_format(Pythonic())
    assert get_format("pythonic").name == "pythonic"
    assert "pythonic" in format_names()
    assert detect_format("{{ '<|python_start|>' }}").name == "pythonic"
    # built-ins are asked first
    assert detect_format("<|python_start|> <tool_call>").name == "hermes"


def test_a_plug_in_that_cannot_be_imported_is_named_in_the_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    broken = importlib.metadata.EntryPoint(
        "broken", "modelport_no_such_plugin:tool_format", ENTRY_POINT_GROUP
    )
    real = registry._entry_points

    def entry_points() -> dict[str, Any]:
        return {**real(), "broken": broken}

    monkeypatch.setattr(registry, "_entry_points", entry_points)
    with pytest.raises(InvalidRequestError, match="'broken' cannot be imported"):
        get_format("broken")
    assert detect_format("plain").name == "generic"  # and detection passes it by


TEMPLATES = {
    "hermes": '{%- for tool in tools %}{{- tool | tojson }}{%- endfor %}<tool_call>\\n{"name": '
    '<function-name>, "arguments": <args-json-object>}\\n</tool_call>',
    "llama3_json": "{{- \"Environment: ipython\\n\" }}{{- '<|python_tag|>' + tool_call.name }}",
    "mistral": "{{- '[AVAILABLE_TOOLS]' }}{{- tools|tojson }}{{- '[/AVAILABLE_TOOLS]' }}",
}


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_detect_format_finds_a_templates_native_format(name: str) -> None:
    assert detect_format(TEMPLATES[name]).name == name


def test_templates_without_a_known_format_get_the_generic_one(demo_tokenizer: Any) -> None:
    assert detect_format(demo_tokenizer.chat_template).name == "generic"
    assert detect_format(None).name == "generic"
    assert detect_format("").name == "generic"
