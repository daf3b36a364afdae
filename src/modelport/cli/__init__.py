"""The ``modelport`` command line: one module per command group."""
