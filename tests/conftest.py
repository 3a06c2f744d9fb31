"""Test-session settings and helpers shared by every test module."""
import os
import sqlite3

# Under pytest-xdist, each worker gets an equal share of the cores for BLAS/OpenMP: oversubscribed
# OpenBLAS threads spin and can make small dense products 10-100x slower.
_workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
if _workers > 1:
    from threadpoolctl import threadpool_limits

    threadpool_limits(max(1, (os.cpu_count() or 1) // _workers))


def session_processes(sid: int) -> list:
    """Live processes (pid, command line) of session ``sid``, from /proc (Linux; [] elsewhere).

    A test starts a run with ``start_new_session=True`` (session id = its pid), kills it, and checks
    that nothing of the session is left: pool workers, fork server, resource tracker.
    """
    out = []
    if not os.path.isdir("/proc"):
        return out
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{name}/cmdline") as f:
                cmd = f.read().replace("\0", " ").strip()
        except OSError:  # exited meanwhile
            continue
        if int(fields[3]) == sid and fields[0] != "Z":     # fields[0]: state, fields[3]: session id
            out.append((int(name), cmd))
    return out


def wait_for_no_processes(sid: int, timeout: float) -> list:
    """Poll until session ``sid`` has no live process or ``timeout`` s passed; return what is left."""
    import time
    deadline = time.monotonic() + timeout
    while (left := session_processes(sid)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def finished_rows(store) -> int:
    """Number of tasks stored as finished ('ok') in the sweep store ``store`` (a Path), read-only; 0
    while the file or its tables do not exist yet (a killed run is polled until it has stored some)."""
    if not store.exists():
        return 0
    con = sqlite3.connect(f"{store.as_uri()}?mode=ro", uri=True, timeout=5)
    try:
        return con.execute("SELECT COUNT(*) FROM tasks WHERE status = 'ok'").fetchone()[0]
    except sqlite3.OperationalError:  # tables not created yet
        return 0
    finally:
        con.close()


def refuses_allocation(call, name: str, limit: int = 2**20) -> str:
    """``call()`` raises ``SpectralTheoryError`` naming the size argument ``name`` and the GiB it needs
    (``checks.allocation``), before allocating: under ``tracemalloc`` (which numpy reports to) the call's
    peak stays below ``limit`` bytes.  Returns the message."""
    import tracemalloc

    import pytest

    from spectral_theory import SpectralTheoryError

    tracemalloc.start()
    try:
        with pytest.raises(SpectralTheoryError, match=rf"`{name}` = .* GiB") as err:
            call()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < limit, f"allocated {peak} bytes before refusing: {err.value}"
    return str(err.value)
