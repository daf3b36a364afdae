"""Structured generation shared by every engine: grammars for ``response_format`` and forced tool
calls (:mod:`.grammar`, on llguidance), and the tool-call formats (:mod:`.tools`)."""
