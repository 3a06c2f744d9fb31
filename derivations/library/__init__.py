"""One module per derivation; see :mod:`derivations.registry` for what a module must define."""
