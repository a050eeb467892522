"""Thin handlers, one module per resource: parse, check, call below, shape the answer."""
