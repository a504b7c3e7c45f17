"""A worker kept on chosen cores (`STUDIO_WORKER_CPUS`, `studio_worker --cpus`): every thread, the
ones running when it is pinned and the ones started later, and a clear refusal of a bad list."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from studio.ops.cpus import CpuSpecError, allowed_cpus, parse_cpus, pin_threads

ROOT = Path(__file__).resolve().parents[2]
ALLOWED = allowed_cpus()
needs_affinity = pytest.mark.skipif(ALLOWED is None, reason="SKIPPED LOUDLY: needs Linux's sched_setaffinity")


@pytest.mark.parametrize(
    ("spec", "cores"),
    [("0", {0}), ("0,2", {0, 2}), ("2-4", {2, 3, 4}), (" 0 , 2-3 ", {0, 2, 3}), ("1,1", {1})],
)
def test_a_list_of_cores_is_read_as_linux_writes_it(spec: str, cores: set[int]) -> None:
    assert parse_cpus(spec) == cores


@pytest.mark.parametrize(
    ("spec", "says"), [("", "not a list"), ("a", "not a list"), ("-1", "not a list"), ("3-1", "backwards")]
)
def test_a_list_that_is_not_one_is_refused_with_what_to_write(spec: str, says: str) -> None:
    with pytest.raises(CpuSpecError, match=says):
        parse_cpus(spec)


@needs_affinity
def test_cores_this_process_may_not_use_are_refused_before_anything_changes() -> None:
    assert ALLOWED is not None
    with pytest.raises(CpuSpecError, match="not all available"):
        pin_threads({max(ALLOWED) + 1000})
    assert allowed_cpus() == ALLOWED


def _thread_cores(pid: int) -> dict[int, str]:
    tasks = Path(f"/proc/{pid}/task")
    cores = {}
    for task in tasks.iterdir():
        status = (task / "status").read_text()
        cores[int(task.name)] = next(line for line in status.splitlines() if line.startswith("Cpus_allowed_list"))
    return cores


@needs_affinity
def test_every_thread_is_pinned_those_already_running_and_those_started_later() -> None:
    assert ALLOWED is not None
    core = min(ALLOWED)
    script = textwrap.dedent(
        f"""
        import os, threading, time
        from studio.ops.cpus import pin_threads
        stop = threading.Event()
        before = threading.Thread(target=stop.wait); before.start()
        pin_threads({{{core}}})
        after = threading.Thread(target=stop.wait); after.start()
        ids = [threading.get_native_id(), before.native_id, after.native_id]
        print(" ".join(str(sorted(os.sched_getaffinity(i))) for i in ids), flush=True)
        stop.set()
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [f"[{core}]"] * 3


def test_the_worker_refuses_a_bad_list_and_says_where_it_came_from() -> None:
    with pytest.raises(CommandError, match="STUDIO_WORKER_CPUS / --cpus: 'x' is not a list of cores"):
        call_command("studio_worker", cpus="x")


@needs_affinity
def test_studio_worker_keeps_all_its_threads_on_the_cores_it_is_given(tmp_path: Path) -> None:
    assert ALLOWED is not None
    core = min(ALLOWED)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "STUDIO_VAR_DIR": str(tmp_path), "STUDIO_WORKER_CPUS": str(core)}
    for name in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"):
        env.pop(name, None)  # its own SQLite database in tmp_path
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    log = tmp_path / "worker.log"
    with log.open("w") as out:
        worker = subprocess.Popen(
            [*manage, "studio_worker", "--concurrency", "2"], cwd=ROOT, env=env, stdout=out, stderr=out
        )
    try:
        deadline = time.monotonic() + 30
        while "concurrency 2" not in log.read_text():
            assert worker.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        assert f"every thread on cores [{core}]" in log.read_text()
        while len(cores := _thread_cores(worker.pid)) < 2:  # the runner's database thread, once it claims
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        assert set(cores.values()) == {f"Cpus_allowed_list:\t{core}"}, cores
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
