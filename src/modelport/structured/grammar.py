"""Grammars that constrain generation, compiled with llguidance, applied one row at a time.

What a request asks for becomes a grammar (llguidance's serialized form, a string):
:func:`response_format_grammar` for ``json_object`` / ``json_schema``; the tool-call formats build
theirs for forced calls. :class:`Grammars` holds one model's llguidance tokenizer and compiles
each grammar once (a cache keyed by its text); :meth:`Grammars.constraint` gives what an engine
needs per request, a factory of per-sequence :class:`RowConstraint` states::

    grammars = Grammars(tokenizer, vocab_size=model.config.vocab_size, eos_token_ids=[2])
    factory = grammars.constraint(response_format_grammar(params.response_format))
    row = factory.new_row()          # one per generated sequence
    row.allowed()                    # bool tensor [vocab]: tokens the grammar allows next
    row.advance(token)               # after sampling; row.done once the grammar is complete

Engines apply the mask themselves (the built-in engine in ``sampling.py``); llguidance's torch
helpers are not used: they go through ``torch.compile``, which needs a C++ toolchain on CPU.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from typing import Any

import llguidance
import llguidance.hf
import numpy as np
import torch

from modelport.errors import InvalidRequestError, UnsupportedFeatureError
from modelport.structured.tools.checks import check_json_schema

log = logging.getLogger(__name__)

# JSON with no free whitespace, which small models fill without end (OpenAI's JSON has none).
JSON_OPTIONS: dict[str, Any] = {"whitespace_flexible": False}
_CACHE_SIZE = 256


def response_format_grammar(response_format: Any) -> str | None:
    """The grammar for a request's ``response_format`` (None for text or none).

    ``json_object``: any JSON object. ``json_schema``: the schema, checked first (an invalid
    schema is a 400 naming ``response_format``); with ``strict: true`` a schema feature the
    grammar cannot enforce is a 400 naming it, without ``strict`` it is enforced as far as it can
    be and the rest logged.
    """
    if response_format is None:
        return None
    kind = getattr(response_format, "type", None) or "text"
    if kind == "text":
        return None
    if kind == "json_object":
        return json_schema_grammar({"type": "object"}, strict=True, param="response_format")
    spec = getattr(response_format, "json_schema", None)
    if not isinstance(spec, dict) or not isinstance(spec.get("schema", {}), dict):
        raise InvalidRequestError(
            "response_format 'json_schema' needs 'json_schema': {'name': ..., 'schema': {...}}",
            param="response_format.json_schema",
        )
    schema = spec.get("schema") or {}
    return json_schema_grammar(schema, strict=bool(spec.get("strict")), param="response_format")


def json_schema_grammar(schema: dict[str, Any], *, strict: bool, param: str) -> str:
    """A grammar for JSON that validates against ``schema`` (see :func:`response_format_grammar`)."""
    check_json_schema(schema, param)
    # Without strict, keywords the grammar cannot enforce (uniqueItems, not, if/then…) are left
    # out and logged; with strict they are a 400 naming them.
    options: Any = {**JSON_OPTIONS, "lenient": not strict}
    try:
        grammar = llguidance.LLMatcher.grammar_from_json_schema(schema, defaults=options)
    except ValueError as exc:
        raise InvalidRequestError(f"the JSON Schema cannot be used: {exc}", param=param) from None
    check_grammar(grammar, strict=strict, param=param)
    return grammar


def check_grammar(grammar: str, *, strict: bool, param: str) -> None:
    """Refuse a grammar llguidance cannot build; with ``strict``, also one it would enforce only
    in part (its warnings name the schema feature)."""
    failed, messages = llguidance.LLMatcher.validate_grammar_with_warnings(grammar)
    if failed:
        detail = messages[0] if messages else "unknown error"
        hint = "; without strict: true they are left out" if "Unimplemented" in detail else ""
        raise UnsupportedFeatureError(
            f"this schema cannot be enforced: {detail}{hint}", param=param
        )
    if messages and strict:
        raise UnsupportedFeatureError(
            "with strict: true, every schema feature must be enforced, and these cannot be: "
            + "; ".join(messages),
            param=param,
        )
    if messages:
        log.warning("schema enforced in part: %s", "; ".join(messages))


class RowConstraint:
    """One sequence's grammar state: which tokens it allows next, and advancing it."""

    def __init__(self, matcher: llguidance.LLMatcher, vocab_size: int) -> None:
        self._matcher = matcher
        self._vocab_size = vocab_size
        self._words = np.zeros((vocab_size + 31) // 32, dtype=np.int32)

    @property
    def done(self) -> bool:
        """The grammar is complete and takes nothing more (the sequence ends with "stop")."""
        return bool(self._matcher.is_stopped())

    def allowed(self) -> torch.Tensor:
        """A bool tensor over the vocabulary: True for the tokens the grammar allows next."""
        self._matcher.unsafe_compute_mask_ptr(self._words.ctypes.data, self._words.nbytes)
        bits = np.unpackbits(self._words.view(np.uint8), bitorder="little")[: self._vocab_size]
        return torch.from_numpy(bits.astype(np.bool_))

    def advance(self, token: int) -> None:
        """Consume the sampled token; a token the grammar refuses is an error (a bug upstream)."""
        if not self._matcher.consume_token(token):
            raise RuntimeError(f"the grammar refused token {token}: {self._matcher.get_error()}")


class ConstraintFactory:
    """A compiled grammar: :meth:`new_row` gives each sequence its own state."""

    def __init__(self, compiled: llguidance.LLMatcher, vocab_size: int) -> None:
        self._compiled = compiled
        self._vocab_size = vocab_size

    def new_row(self) -> RowConstraint:
        return RowConstraint(self._compiled.deep_copy(), self._vocab_size)


class Grammars:
    """One model's grammar compiler: its llguidance tokenizer (built on first use, ~1 s for a
    50k vocabulary) and a cache of compiled grammars (256 most recent)."""

    def __init__(self, tokenizer: Any, *, vocab_size: int, eos_token_ids: list[int]) -> None:
        self._tokenizer = tokenizer
        self.vocab_size = vocab_size
        self._eos = eos_token_ids
        self._lltokenizer: llguidance.LLTokenizer | None = None
        self._compiled: OrderedDict[str, llguidance.LLMatcher] = OrderedDict()
        self._lock = threading.Lock()
        self.compiles = 0

    def lltokenizer(self) -> llguidance.LLTokenizer:
        with self._lock:
            if self._lltokenizer is None:
                try:
                    self._lltokenizer = llguidance.hf.from_tokenizer(
                        self._tokenizer, n_vocab=self.vocab_size, eos_token=self._eos or None
                    )
                except ValueError as exc:  # a slow (Python) tokenizer
                    raise UnsupportedFeatureError(
                        f"structured generation needs a fast tokenizer: {exc}"
                    ) from None
            return self._lltokenizer

    def constraint(self, grammar: str) -> ConstraintFactory:
        """The compiled grammar (compiled once, then from the cache)."""
        lltokenizer = self.lltokenizer()
        with self._lock:
            compiled = self._compiled.get(grammar)
            if compiled is not None:
                self._compiled.move_to_end(grammar)
        if compiled is None:
            compiled = llguidance.LLMatcher(lltokenizer, grammar, log_level=0)
            if compiled.is_error():
                raise UnsupportedFeatureError(
                    f"the constraint cannot be compiled: {compiled.get_error()}"
                )
            with self._lock:
                self.compiles += 1
                self._compiled[grammar] = compiled
                while len(self._compiled) > _CACHE_SIZE:
                    self._compiled.popitem(last=False)
        return ConstraintFactory(compiled, self.vocab_size)
