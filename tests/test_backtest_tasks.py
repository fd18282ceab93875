"""The task runner of backtest and compare (``lstm_np.forecast.tasks.run_tasks``), run for real.

Contract: the results come back in the order of the tasks, equal to the in-process run, whether
the tasks ran in-process, on a ``LocalCluster`` of 2 worker processes, or on a ``dask scheduler``
+ ``dask worker`` pair started as subprocesses; inside a worker the kernels and BLAS run on one
thread; a worker killed with SIGKILL mid-task loses nothing; Ctrl-C shuts everything down. Every
cluster here listens on 127.0.0.1 only and is shut down by the test.
"""
import _thread
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

import numpy as np
import pytest

from lstm_np.forecast.cli import UserError
from lstm_np.forecast import tasks as tasks_module
from lstm_np.forecast.tasks import Progress, run_tasks

pytest.importorskip("distributed")

TESTS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(TESTS)


@dataclass(frozen=True)
class Job:
    """A small task: a seeded computation, optionally slow, optionally leaving a trace."""

    key: str
    seed: int
    sleep: float = 0.0
    trace_dir: str | None = None


def compute(job, data):
    """What a worker computes: a seeded sum over the shared data, and how its threads were set."""
    if job.trace_dir:  # "<key>.<pid>": which process started this task
        open(os.path.join(job.trace_dir, f"{job.key}.{os.getpid()}"), "w").close()
    time.sleep(job.sleep)
    import numba
    from threadpoolctl import threadpool_info

    value = float(np.sum(np.random.default_rng(job.seed).normal(size=data.size) * data))
    blas = sorted({lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"})
    return {"key": job.key, "value": value, "numba_threads": numba.get_num_threads(), "blas": blas,
            "env": os.environ.get("NUMBA_NUM_THREADS")}


def fail(job, data):
    raise RuntimeError(f"task {job.key} failed")


DATA = np.linspace(0.0, 1.0, 1000)
# The later tasks are the quicker ones, so on a cluster they finish first.
JOBS = [Job(f"job{k}", seed=k, sleep=0.2 - 0.05 * k) for k in range(4)]


def values(results):
    return [(r["key"], r["value"]) for r in results]


@pytest.fixture(scope="module")
def in_process():
    return run_tasks(compute, JOBS, DATA, progress=False)


def test_in_process_runs_every_task_in_order(in_process):
    assert [r["key"] for r in in_process] == [j.key for j in JOBS]
    assert values(in_process) == [(j.key, compute(j, DATA)["value"]) for j in JOBS]


def test_warm_up_runs_once_before_the_first_task():
    calls = []
    run_tasks(lambda job, data: calls.append(job.key), JOBS[:2], DATA, progress=False,
              warm_up=lambda: calls.append("warm-up"))
    assert calls == ["warm-up", "job0", "job1"]


def test_local_cluster_gives_the_in_process_results_on_single_threaded_workers(in_process):
    warmed = []
    before = dict(os.environ)
    results = run_tasks(compute, JOBS, DATA, workers=2, progress=False,
                        warm_up=lambda: warmed.append(os.getpid()))
    assert values(results) == values(in_process)   # bit for bit, in task order
    assert warmed == [os.getpid()]                 # warmed once, here, before the fan-out
    for r in results:
        assert r["env"] == "1"                     # set before the worker imported Numba
        assert r["numba_threads"] == 1
        assert r["blas"] == [1]
    for name in (*tasks_module.THREAD_ENV, "MALLOC_TRIM_THRESHOLD_"):
        assert os.environ.get(name) == before.get(name)  # the nannies' settings did not leak here


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def scheduler_and_worker():
    """``dask scheduler`` and one ``dask worker --nthreads 1`` as subprocesses on 127.0.0.1,
    the worker without any thread variable in its environment."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items()
           if k not in tasks_module.THREAD_ENV and k != "PYTHONPATH"}
    env["PYTHONPATH"] = os.pathsep.join([ROOT, TESTS])  # the worker imports lstm_np and this file
    dask = os.path.join(os.path.dirname(sys.executable), "dask")
    procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--no-dashboard"], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)]
    try:
        deadline = time.monotonic() + 120  # the command gives a scheduler 5 s: wait until it listens
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.2)
        procs.append(subprocess.Popen([dask, "worker", address, "--nthreads", "1", "--no-nanny",
                                       "--host", "127.0.0.1", "--no-dashboard"], env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        yield address
    finally:
        # SIGKILL: a gracefully closing worker waits up to 8 s for its plugins; this one has no
        # nanny, so no process is left behind
        for proc in reversed(procs):
            proc.kill()
            proc.wait()


def test_existing_scheduler_gives_the_in_process_results(in_process, scheduler_and_worker):
    results = run_tasks(compute, JOBS, DATA, scheduler=scheduler_and_worker, progress=False)
    assert values(results) == values(in_process)
    for r in results:
        assert r["env"] is None               # the worker was started without the variables,
        assert r["numba_threads"] == 1        # so each task pins its own threads
        assert r["blas"] == [1]


def test_a_worker_killed_mid_task_loses_nothing(in_process, tmp_path):
    jobs = [Job(j.key, j.seed, sleep=0.5, trace_dir=str(tmp_path)) for j in JOBS]
    killed = []

    def kill_first_worker():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not killed:
            started = sorted(os.listdir(tmp_path))
            if started:   # a worker is inside a task: SIGKILL it there
                key, pid = started[0].rsplit(".", 1)
                os.kill(int(pid), signal.SIGKILL)
                killed.append((key, int(pid)))
            time.sleep(0.02)

    killer = threading.Thread(target=kill_first_worker)
    killer.start()
    try:
        results = run_tasks(compute, jobs, DATA, workers=2, progress=False)
    finally:
        killer.join()
    assert killed, "no worker was killed"
    key, pid = killed[0]
    assert values(results) == values(in_process)
    # the killed task started again in another process and finished there
    restarts = [name for name in os.listdir(tmp_path) if name.startswith(key + ".")]
    assert len(restarts) >= 2 and f"{key}.{pid}" in restarts


def test_ctrl_c_cancels_and_shuts_the_cluster_down(tmp_path):
    # tasks far longer than the test may take: only the Ctrl-C can end this run early
    jobs = [Job(f"job{k}", seed=k, sleep=120, trace_dir=str(tmp_path)) for k in range(3)]
    pressed = []

    def press_ctrl_c_once_the_workers_are_busy():
        # both workers busy, or (a loaded machine may hand both first tasks to one worker)
        # one busy for 15 s
        start = time.monotonic()
        while time.monotonic() - start < 90:
            busy = len(os.listdir(tmp_path))
            if busy >= 2 or (busy == 1 and time.monotonic() - start > 15):
                break
            time.sleep(0.02)
        pressed.append(time.monotonic())
        _thread.interrupt_main()          # KeyboardInterrupt in the main thread, as Ctrl-C raises

    presser = threading.Thread(target=press_ctrl_c_once_the_workers_are_busy)
    presser.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            run_tasks(compute, jobs, DATA, workers=2, progress=False)
        stopped = time.monotonic()
    finally:
        presser.join()
    assert stopped - pressed[0] < 25          # the running 120-second tasks were not waited for
    pids = {int(name.rsplit(".", 1)[1]) for name in os.listdir(tmp_path)}
    assert 1 <= len(pids) <= 2
    for pid in pids:                          # every worker process that ran a task is gone
        deadline = time.monotonic() + 10
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(pid)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie child counts as gone
        return os.waitpid(pid, os.WNOHANG) == (0, 0)
    except ChildProcessError:
        return True


def suicide(job, data):
    os.kill(os.getpid(), signal.SIGKILL)


def test_a_task_that_keeps_killing_its_worker_is_a_user_error():
    import dask

    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):  # give up at the first death
        with pytest.raises(UserError, match="task job0 was running each time one of 1 worker process died"):
            run_tasks(suicide, JOBS[:1], DATA, workers=1, progress=False)


def test_a_failing_task_raises_its_error():
    with pytest.raises(RuntimeError, match="task job0 failed"):
        run_tasks(fail, JOBS[:1], DATA, progress=False)


def test_an_unreachable_scheduler_is_a_user_error(monkeypatch):
    monkeypatch.setattr(tasks_module, "CONNECT_TIMEOUT", 0.5)
    with pytest.raises(UserError, match="cannot reach the Dask scheduler"):
        run_tasks(compute, JOBS, DATA, scheduler=f"tcp://127.0.0.1:{free_port()}", progress=False)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="unique"):
        run_tasks(compute, [JOBS[0], JOBS[0]], DATA, progress=False)
    with pytest.raises(ValueError, match="not both"):
        run_tasks(compute, JOBS, DATA, workers=2, scheduler="tcp://127.0.0.1:1", progress=False)
    with pytest.raises(ValueError, match="positive whole number"):
        run_tasks(compute, JOBS, DATA, workers=0, progress=False)


def test_progress_reports_done_total_elapsed_and_eta(capsys):
    run_tasks(compute, JOBS[:2], DATA, label="backtest")
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("backtest: 1/2 done, 0:00:") and ", ETA 0:00:" in lines[0]
    assert lines[1].startswith("backtest: 2/2 done, 0:00:") and "ETA" not in lines[1]


def test_progress_bar_redraws_in_place_on_a_terminal():
    class Terminal:
        text = ""

        def isatty(self):
            return True

        def write(self, s):
            self.text += s

        def flush(self):
            pass

    stream = Terminal()
    bar = Progress(4, label="backtest", stream=stream)
    bar.update(2)
    bar.close()
    assert stream.text.count("\r") == 2 and stream.text.endswith("\n")
    assert "[" + "#" * 12 + "." * 12 + "] backtest: 2/4 done" in stream.text
