"""The package format: a self-describing model directory, written atomically, loaded by URI."""
