"""Fault injection for the crash tests: a pause inside a transaction, so that a test can kill the
worker there (tests/multiprocess/test_faults.py).

Inert unless the process started with ``KAOPING_FAULT_INJECT=1`` in its environment (read once, at
import): then ``fault_point`` is a function that returns at once and nothing else here runs. Even
when enabled, a point pauses only while a test has armed it by creating the file
``<KAOPING_FAULT_DIR>/<point>.arm``; the first request to reach the point takes the file (an atomic
rename, so one request only), writes its process id into ``<point>.paused`` and sleeps.
"""
import os
import time

ENABLED = os.environ.get("KAOPING_FAULT_INJECT") == "1"
PAUSE_SECONDS = 60


def fault_point(name: str) -> None:
    """Pause here for ``PAUSE_SECONDS`` if a test armed ``name`` (never in production: see above)."""
    if not ENABLED:
        return
    folder = os.environ.get("KAOPING_FAULT_DIR", "")
    if not folder:
        return
    armed = os.path.join(folder, f"{name}.arm")
    taken = os.path.join(folder, f"{name}.taken-{os.getpid()}")
    try:
        os.rename(armed, taken)
    except OSError:  # not armed, or another request took it
        return
    with open(os.path.join(folder, f"{name}.paused"), "w") as marker:
        marker.write(str(os.getpid()))
    time.sleep(PAUSE_SECONDS)
