"""Thin routers: parse, pick the model, hand over to ``serving.generation``, shape the answer."""
