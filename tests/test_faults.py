"""The fault point of the crash test is inert unless the process was started to inject faults."""
import time

from app import faults


def test_fault_point_does_nothing_without_the_environment_flag(tmp_path, monkeypatch):
    assert faults.ENABLED is False  # the test process, like production, never sets KAOPING_FAULT_INJECT
    monkeypatch.setenv("KAOPING_FAULT_DIR", str(tmp_path))
    (tmp_path / "resident_submit.arm").touch()
    started = time.monotonic()
    faults.fault_point("resident_submit")
    assert time.monotonic() - started < 1
    assert (tmp_path / "resident_submit.arm").exists() and not (tmp_path / "resident_submit.paused").exists()
