"""One task runner for ``backtest`` and ``compare``: independent trainings, here or on Dask.

A backtest is folds x seeds x models trainings that do not depend on each other. :func:`run_tasks`
runs a list of such tasks in one of three places and returns their results in the order of the
list, whatever order they finished in:

* in-process (the default): one after another, the compiled kernels on all cores;
* ``workers=N``: a ``distributed.LocalCluster`` of N single-threaded worker processes on this
  machine, started for the run and shut down after it;
* ``scheduler=ADDRESS``: an existing Dask cluster (``dask scheduler`` on one machine,
  ``dask worker ADDRESS --nthreads 1`` on each of the others), which must be able to import
  lstm_np.

A task is a small picklable object with a unique string ``key`` (for a backtest: model, fold,
seed and the options); ``function(task, data)`` runs it, ``data`` (the price series) being sent
once for all tasks rather than once per task.

Why the results cannot depend on where a task ran:

* Each worker runs its kernels and BLAS on one thread. ``LocalCluster`` workers get
  ``NUMBA_NUM_THREADS=1`` and the BLAS variables in their environment before they start (Numba
  reads ``NUMBA_NUM_THREADS`` once, at import); on any Dask worker, including those of an
  existing cluster, each task also runs under ``numba.set_num_threads(1)`` and a one-thread BLAS
  limit. Equal results across thread counts are then the kernels' job: they are written not to
  depend on the thread count.
* Results are collected as they complete but returned by task, never by completion order.
* The data travel as one Dask task of their own (not as scattered data): if the worker holding
  them is killed, the scheduler can compute them again from the task graph.

Robustness: a killed worker process (``kill -9``) makes the scheduler run its tasks again on
another worker (``LocalCluster`` also restarts the dead process) — a task whose workers keep
dying (Dask's ``allowed-failures``, 3 by default) ends the run with one sentence — and a task that
raises is retried ``retries`` times; Ctrl-C cancels every task, shuts the cluster down and re-raises, so the
caller writes nothing. The Numba cache is warmed once in this process before the fan-out
(``warm_up``), so N workers load compiled kernels instead of compiling them N times.
"""
from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
import uuid

__all__ = ["THREAD_ENV", "Progress", "run_tasks", "one_thread"]

# Set in every LocalCluster worker before it starts, so that Numba and the BLAS libraries size
# their thread pools to one thread when they are first imported there.
THREAD_ENV = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
              "MKL_NUM_THREADS": "1"}
CONNECT_TIMEOUT = 5  # seconds to reach an existing scheduler and hear its handshake
WORKER_TIMEOUT = 60  # seconds to wait for its first worker


def run_tasks(function, tasks, data=None, *, workers=None, scheduler=None, retries=2,
              warm_up=None, progress=True, label="tasks", on_done=None, stream=None):
    """Run ``function(task, data)`` for every task; return the results in the order of ``tasks``.

    Parameters
    ----------
    function : callable
        A module-level function (workers import it by name), ``function(task, data) -> result``.
    tasks : sequence
        Picklable task specs, each with a unique string attribute ``key``.
    data : object, optional
        Passed to every call; sent to the cluster once.
    workers : int, optional
        Start a ``LocalCluster`` of this many single-threaded worker processes for the run.
    scheduler : str, optional
        Address of an existing Dask scheduler, e.g. ``tcp://10.0.0.5:8786``.
    retries : int
        How many times Dask runs a task again after it raised (a killed worker is handled by
        the scheduler independently of this).
    warm_up : callable, optional
        Called once in this process before the first task, to compile (or load) the Numba
        kernels into the on-disk cache that the workers then read, and so that the progress
        bar's first estimate is not a compile time.
    progress : bool
        Draw a progress bar over the tasks on ``stream`` (default ``sys.stderr``).
    on_done : callable, optional
        ``on_done(task, result, done, total)`` after each task finishes, in completion order
        (for messages only: the returned list does not depend on it).

    Returns
    -------
    list
        ``[function(task, data) for task in tasks]``.

    Raises
    ------
    ValueError
        If both ``workers`` and ``scheduler`` are given, or keys repeat.
    lstm_np.forecast.cli.UserError
        If the scheduler cannot be reached or has no worker.
    """
    tasks = list(tasks)
    keys = [task.key for task in tasks]
    if len(set(keys)) != len(keys):
        raise ValueError("task keys must be unique")
    if workers is not None and scheduler is not None:
        raise ValueError("give workers or scheduler, not both")
    if workers is not None and (isinstance(workers, bool) or int(workers) != workers or workers < 1):
        raise ValueError(f"workers must be a positive whole number, got {workers!r}")
    bars = []  # the bar starts with the first task, after the warm-up and the cluster's start

    def start():
        if progress:
            bars.append(Progress(len(tasks), label=label, stream=stream))

    def finished(task, result, done):
        if on_done is not None:  # first: a task the bar counts as done is already recorded
            on_done(task, result, done, len(tasks))
        for bar in bars:
            bar.update(done)

    try:
        if warm_up is not None:
            warm_up()
        if workers is None and scheduler is None:
            start()
            results = []
            for task in tasks:
                results.append(function(task, data))
                finished(task, results[-1], len(results))
            return results
        with _client(workers, scheduler) as client:
            start()
            return _run_on(client, function, tasks, data, retries, finished)
    finally:
        for bar in bars:
            bar.close()


def _run_on(client, function, tasks, data, retries, finished):
    from distributed import KilledWorker, as_completed

    from .cli import UserError
    from .format import plural

    run = uuid.uuid4().hex[:12]  # keys unique on a shared scheduler, across runs
    # A task, not client.scatter: a scattered value lost with its worker cannot be recomputed.
    data_future = client.submit(_identity, data, key=f"data-{run}", pure=False)
    futures = {client.submit(_on_worker, function, task, data_future, key=f"{task.key}-{run}",
                             retries=retries, pure=False): k for k, task in enumerate(tasks)}
    results, done = [None] * len(tasks), 0
    try:
        for future in as_completed(futures, loop=client.loop):
            k = futures[future]
            try:
                results[k] = future.result()  # raises the task's exception after its retries
            except KilledWorker as err:
                raise UserError(f"task {tasks[k].key} was running each time one of "
                                f"{plural(err.allowed_failures + 1, 'worker process')} died, so it was "
                                "not tried again; a worker that runs out of memory is killed: try "
                                "fewer --workers") from None
            future.release()
            done += 1
            finished(tasks[k], results[k], done)
    except BaseException:
        client.cancel(list(futures) + [data_future], force=True)
        raise
    return results


def _identity(value):
    return value


def _on_worker(function, task, data):
    """Run one task on a Dask worker with the kernels and BLAS on one thread.

    The worker's process is the run's, as a command's process is: keep freed memory mapped
    (see :mod:`lstm_np._runtime`), which the commands turn on for themselves too.
    """
    from .._runtime import keep_memory_mapped

    keep_memory_mapped()
    with one_thread():
        return function(task, data)


@contextlib.contextmanager
def one_thread():
    """Run the block with Numba's kernels (this thread's setting) and every BLAS on one thread."""
    from threadpoolctl import threadpool_limits

    try:
        import numba
    except ImportError:  # pragma: no cover - numba is a dependency
        numba = None
    previous = numba.get_num_threads() if numba is not None else None
    try:
        if numba is not None:
            numba.set_num_threads(1)
        with threadpool_limits(limits=1, user_api="blas"):
            yield
    finally:
        if numba is not None:
            numba.set_num_threads(previous)


@contextlib.contextmanager
def _client(workers, scheduler):
    """A ``distributed.Client`` on a LocalCluster started here, or on the given scheduler;
    everything started is shut down on the way out, also on Ctrl-C. Dask's logs stay quiet."""
    with quiet_logs(), _connect(workers, scheduler) as client:
        yield client


@contextlib.contextmanager
def _connect(workers, scheduler):
    import dask
    from distributed import Client, LocalCluster

    from .cli import UserError

    if scheduler is not None:
        client = connect_scheduler(scheduler)
        try:
            try:
                client.wait_for_workers(1, timeout=WORKER_TIMEOUT)
            except TimeoutError:
                raise UserError(f"the Dask scheduler at {scheduler} has no worker after "
                                f"{WORKER_TIMEOUT} s; start one with `dask worker {scheduler} "
                                "--nthreads 1`") from None
            yield client
        finally:
            client.close()
        return

    environ = dict(os.environ)
    spawn_env = {**dask.config.get("distributed.nanny.pre-spawn-environ", {}), **THREAD_ENV}
    try:
        # The nannies live in this process and copy pre-spawn-environ into os.environ before
        # each worker starts (also when they restart a killed one); os.environ is restored below.
        with dask.config.set({"distributed.nanny.pre-spawn-environ": spawn_env}):
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   host="127.0.0.1", dashboard_address="127.0.0.1:0",
                                   # no dashboard, and the scheduler's HTTP routes on a free
                                   # port (with no address they take 8787, which another
                                   # cluster on this machine may hold)
                                   scheduler_kwargs={"dashboard": False},
                                   silence_logs=logging.CRITICAL)
            try:
                client = Client(cluster, set_as_default=False)
                try:
                    yield client
                except BaseException:
                    # A graceful shutdown waits for the tasks still running (minutes, for a
                    # training): on Ctrl-C or an error, stop the worker processes now.
                    for nanny in list(cluster.workers.values()):
                        with contextlib.suppress(Exception):
                            cluster.sync(nanny.close, timeout=1)
                    raise
                finally:
                    client.close()
            finally:
                cluster.close()
    finally:
        os.environ.clear()
        os.environ.update(environ)


def scheduler_address(text):
    """``tcp://HOST:PORT`` or ``HOST:PORT`` -> ``(host, port)``; ``ValueError`` otherwise."""
    rest = text[len("tcp://"):] if text.startswith("tcp://") else text
    host, sep, port = rest.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if "://" in rest or not sep or not host or "/" in host or not port.isdigit() \
            or not 0 < int(port) < 65536:
        raise ValueError(text)
    return host, int(port)


def connect_scheduler(address, timeout=CONNECT_TIMEOUT):
    """A ``distributed.Client`` on the scheduler at ``address``, or one sentence within about
    ``timeout`` seconds.

    The address is checked first (``tcp://HOST:PORT``), then the port is connected to (a
    refusal is retried until the deadline: a scheduler may be starting beside the command),
    then Dask's handshake runs in a helper thread that is waited for at most ``timeout``
    seconds: a port that accepts and never answers makes ``Client`` wait without end, and
    one that answers garbage makes it raise whatever the bytes decode to (a ``MemoryError``
    for exabytes, a ``ValueError``...).
    """
    import socket
    import threading

    from distributed import Client

    from .cli import UserError

    host, port = scheduler_address(address)
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection((host, port), timeout=max(deadline - time.monotonic(), 0.01)).close()
            break
        except ConnectionRefusedError as err:
            if time.monotonic() + 0.2 > deadline:
                raise UserError(f"cannot reach the Dask scheduler at {address} ({err.strerror}); start "
                                "it with `dask scheduler` and check the address") from None
            time.sleep(0.2)
        except (TimeoutError, socket.timeout):
            raise UserError(f"cannot reach the Dask scheduler at {address} within {timeout:g} s; check "
                            "the address and that `dask scheduler` runs there") from None
        except OSError as err:
            raise UserError(f"cannot reach the Dask scheduler at {address} ({err.strerror or err}); "
                            "start it with `dask scheduler` and check the address") from None
    done, result = threading.Event(), {}

    def connect():
        try:
            result["client"] = Client(address, timeout=timeout, set_as_default=False)
        except BaseException as err:  # handed to the waiting thread
            result["error"] = err
        finally:
            done.set()

    threading.Thread(target=connect, name="lstm_np scheduler", daemon=True).start()
    if not done.wait(max(deadline - time.monotonic(), 0) + 1):
        raise UserError(f"the server at {address} accepted the connection but did not answer as a "
                        f"Dask scheduler within {timeout:g} s; give the address of a `dask scheduler`")
    if "error" in result:
        raise UserError(f"the server at {address} did not complete Dask's handshake "
                        f"({type(result['error']).__name__}); give the address of a `dask scheduler` "
                        "(tcp://HOST:PORT, by default port 8786)")
    return result["client"]


@contextlib.contextmanager
def quiet_logs():
    """Keep Dask's own log records (``CommClosedError`` tracebacks while a cluster of many
    workers shuts down, reconnection attempts) off stderr: the command says what went wrong."""
    import distributed  # noqa: F401 - its loggers (and their configured levels) exist from here

    names = ("distributed", "tornado", "asyncio")
    loggers = [logging.getLogger(name) for name in (*names, *logging.root.manager.loggerDict)
               if name.split(".")[0] in names]   # children with a level of their own too
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


class Progress:
    """``label: 3/12 done, 0:00:41 elapsed, ETA 0:02:03`` on stderr.

    On a terminal the line is redrawn in place with a bar; otherwise (a log file, a pipe) one
    line is written per finished task.
    """

    WIDTH = 24

    def __init__(self, total, label="tasks", stream=None):
        self.total, self.label = total, label
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.start = time.monotonic()
        self.done = 0
        if self.tty:
            self._draw()

    def update(self, done):
        self.done = done
        self._draw()

    def line(self):
        elapsed = time.monotonic() - self.start
        text = f"{self.label}: {self.done}/{self.total} done, {_clock(elapsed)} elapsed"
        if 0 < self.done < self.total:
            text += f", ETA {_clock(elapsed / self.done * (self.total - self.done))}"
        if self.tty:
            filled = self.WIDTH * self.done // max(self.total, 1)
            text = f"[{'#' * filled}{'.' * (self.WIDTH - filled)}] {text}"
        return text

    def _draw(self):
        if self.tty:
            self.stream.write("\r" + self.line() + "\033[K")
        else:
            self.stream.write(self.line() + "\n")
        self.stream.flush()

    def close(self):
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def _clock(seconds):
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
