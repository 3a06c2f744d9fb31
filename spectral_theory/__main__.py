"""``python -m spectral_theory``: the ``spectral-theory`` command line.

This module is only run, never imported by ``import spectral_theory``, so importing ``validation``
here keeps the rule that the numeric package does not import the validation layer at import time.
"""
import sys

from validation.cli import main

if __name__ == "__main__":
    sys.exit(main())
