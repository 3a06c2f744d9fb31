"""Test-session settings shared by every test module."""
import os

# Under pytest-xdist, each worker gets an equal share of the cores for BLAS/OpenMP: oversubscribed
# OpenBLAS threads spin and can make small dense products 10-100x slower.
_workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
if _workers > 1:
    from threadpoolctl import threadpool_limits

    threadpool_limits(max(1, (os.cpu_count() or 1) // _workers))
