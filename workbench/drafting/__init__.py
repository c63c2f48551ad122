"""Drafting: prompt context, redaction, output checks and the one LLM call site."""
