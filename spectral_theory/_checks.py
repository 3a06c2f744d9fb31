from .checks import *  # noqa: F401,F403  (the old private spelling; spectral_theory.checks is public)
