"""The one timer of the benchmarks (run as scripts: ``python benchmarks/<file>.py`` puts this folder on
``sys.path``)."""
import time


def best_of(fn, repeats=5):
    """Smallest wall time of ``repeats`` calls of ``fn()``: the least disturbed by other load."""
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)
