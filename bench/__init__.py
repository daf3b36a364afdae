"""modelport's serving benchmark: a load generator for any OpenAI-compatible URL, and the runs
that compare the server with batching off, with batching on, and a static-batch ceiling."""
