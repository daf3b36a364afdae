"""Tool calls in model output, engine-independent: the formats models write them in, a registry
of those formats, and the checks of a request's ``tools`` and ``tool_choice``.

One module per format (``hermes``, ``llama3`` for ``llama3_json``, ``mistral``, ``generic``);
the contract they follow is in :mod:`.base`, the machinery they share in :mod:`.streaming`
and :mod:`.partial`, the pieces of their grammars in :mod:`.grammars`. The user guide is
``docs/tools-and-structured-outputs.md``.
"""

from modelport.structured.tools.base import (
    ArgumentsDelta,
    ContentDelta,
    Delta,
    ParsedCall,
    ToolCallFormat,
    ToolCallStart,
    ToolCallStream,
    new_call_id,
)
from modelport.structured.tools.checks import (
    ToolChoice,
    check_json_schema,
    check_tools,
    forced_name,
    forced_tools,
)
from modelport.structured.tools.generic import calls_text as generic_calls_text
from modelport.structured.tools.generic import conversation as generic_conversation
from modelport.structured.tools.generic import system_message as generic_system_message
from modelport.structured.tools.registry import (
    ENTRY_POINT_GROUP,
    detect_format,
    format_names,
    get_format,
    register_format,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "ArgumentsDelta",
    "ContentDelta",
    "Delta",
    "ParsedCall",
    "ToolCallFormat",
    "ToolCallStart",
    "ToolCallStream",
    "ToolChoice",
    "check_json_schema",
    "check_tools",
    "detect_format",
    "forced_name",
    "forced_tools",
    "format_names",
    "generic_calls_text",
    "generic_conversation",
    "generic_system_message",
    "get_format",
    "new_call_id",
    "register_format",
]
