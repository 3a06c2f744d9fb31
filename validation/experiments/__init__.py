"""Registered experiments: one module per theory; each registers itself on import."""
