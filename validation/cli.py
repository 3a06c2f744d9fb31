"""The ``spectral-theory`` command line.

Each subcommand parses its arguments here and hands them to the layer that owns the work; the heavy
packages (sympy, matplotlib, dask) are imported only by the subcommand that needs them.
"""
from __future__ import annotations

import argparse
import re
import signal
import sys
import threading

_ROLE = re.compile(r":(?:math|func|class|meth|mod|attr|data|exc|obj):`~?([^`]*)`")


def plain(text: str) -> str:
    """``text`` (a docstring) without reST markup, for help output: roles such as :math:`x` or
    :func:`a.b` become their content, ``code`` loses its backquotes."""
    return _ROLE.sub(r"\1", text or "").replace("``", "")


class _Version(argparse.Action):
    """``--version``: imports the package only when asked (the parser itself stays light)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        from spectral_theory import __version__
        print(f"{parser.prog} {__version__}")
        parser.exit()


def _latex(args) -> int:
    from derivations.document import latex_cli
    return latex_cli(args)


def _validate(args) -> int:
    if args.mutants:
        from validation.mutants import mutants_cli
        return mutants_cli(args)
    from validation.suite import validate_cli
    return validate_cli(args)


def _list(args) -> int:
    from validation.suite import list_cli
    return list_cli(args)


def _predict(args) -> int:
    from validation.predict import predict_cli
    return predict_cli(args)


def build_parser() -> argparse.ArgumentParser:
    """The ``spectral-theory`` argument parser: subcommands validate, latex, list and predict."""
    p = argparse.ArgumentParser(prog="spectral-theory", description=plain(__doc__.splitlines()[0]))
    p.add_argument("--version", action=_Version, help="print the package version and exit")
    sub = p.add_subparsers(dest="command", required=True)

    v = sub.add_parser("validate", help="run registered experiments: theory against simulation")
    v.add_argument("names", nargs="*", help="experiment names (default: all registered)")
    preset = v.add_mutually_exclusive_group()
    preset.add_argument("--quick", dest="preset", action="store_const", const="quick",
                        help="small sizes, finishes in under 2 minutes (default)")
    preset.add_argument("--full", dest="preset", action="store_const", const="full",
                        help="paper-scale sizes")
    v.set_defaults(preset="quick")
    v.add_argument("--out", default="validation-report", help="report folder (default: %(default)s)")
    v.add_argument("--workers", type=int, default=1, help="local worker processes")
    v.add_argument("--scheduler", default=None, help="Dask scheduler address (tcp://host:port)")
    v.add_argument("--seed", type=int, default=20241016, help="root seed of every random stream")
    v.add_argument("--quiet", action="store_true", help="no progress bars")
    v.add_argument("--mutants", action="store_true",
                   help="run the experiments under the built-in wrong theories (validation.mutants); "
                        "exit 1 if any mutant is not caught by a disagreeing experiment")
    v.add_argument("--format", default="png",
                   help="figure formats, comma-separated among png, pdf, svg (default: %(default)s)")
    v.add_argument("--style", choices=("paper", "talk"), default="paper",
                   help="figure sizes, fonts and line widths (default: %(default)s)")
    v.set_defaults(func=_validate)

    t = sub.add_parser("latex", help="write a standalone LaTeX document of the derivations, or snippets")
    t.add_argument("names", nargs="*", help="derivation names (default: all)")
    t.add_argument("--out", default=None,
                   help="output .tex file (default: derivations.tex, or NAME.tex with --snippet)")
    t.add_argument("--snippet", action="store_true",
                   help="write the NAMES as a fragment to \\input (no preamble) and a .bib of their references")
    t.set_defaults(func=_latex)

    ls = sub.add_parser("list", help="list registered experiments and derivations")
    ls.set_defaults(func=_list)

    pr = sub.add_parser("predict", help="headline predictions (spiked overlaps, gaps, phases)")
    pr.add_argument("quantity", help="what to predict; `spectral-theory predict help` lists them")
    pr.add_argument("params", nargs="*", help="key=value parameters")
    pr.add_argument("--json", action="store_true", help="machine-readable output")
    pr.set_defaults(func=_predict)
    return p


_received = []  # the signal that interrupted the run (SIGTERM; Ctrl-C leaves it empty)


def _terminate(signum, frame):
    # SIGTERM unwinds like Ctrl-C (a KeyboardInterrupt, which no `except Exception` in an experiment
    # or the sweep swallows), so that open transactions roll back and the workers are stopped
    _received.append(signum)
    raise KeyboardInterrupt


def main(argv=None) -> int:
    """Entry point of the ``spectral-theory`` command: parse ``argv`` and run the subcommand; returns its
    exit code (130/143 after Ctrl-C/SIGTERM, with the finished experiments kept in the store)."""
    args = build_parser().parse_args(argv)
    # SIGTERM unwinds like Ctrl-C: the finished experiments are committed (one transaction each), the
    # workers are stopped, and rerunning the same command resumes from the store
    previous = signal.signal(signal.SIGTERM, _terminate) if threading.current_thread() is threading.main_thread() else None
    try:
        return int(args.func(args) or 0)
    except (ValueError, RuntimeError, OSError) as e:  # package errors are ValueError/RuntimeError subclasses
        print(f"spectral-theory {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"spectral-theory {args.command}: interrupted; finished work is stored, rerun the same command "
              "to resume", file=sys.stderr)
        return 128 + (_received[-1] if _received else signal.SIGINT)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
