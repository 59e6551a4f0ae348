"""The one job runner behind every long command (``embodied nav``, ``data mine``, ``data render``, ...).

A run is many independent jobs, each with an id unique within the run, executed in parallel and
recorded in ``<out>/results.jsonl`` as one fsynced JSON line per finished job. The rules:

* **Resumable.** A rerun of the same command skips jobs whose latest row has ``status`` "ok" (or
  ``"final": true``: a failure that a rerun would only repeat, e.g. an unreachable goal); jobs
  that errored or timed out run again unless ``retry_errors=False``. Nothing finished is repeated.
* **Failures are rows.** A job that raises, returns ``{"status": "error", ...}``, outlives its
  timeout or kills its worker gets a row with ``status`` ("error" / "timeout") and the reason, so it
  stays in every denominator; the run goes on.
* **Identity.** ``<out>/config.json`` holds what makes results comparable (the settings, never
  worker or thread counts); a rerun with different settings is refused, one with another number of
  workers resumes.
* **No orphans.** Workers are spawned processes that die with the parent: Ctrl-C, ``kill`` and
  ``kill -9`` of the parent leave no worker behind (Linux: ``PR_SET_PDEATHSIG``; elsewhere a watchdog
  thread polls the parent).
* **One writer.** A run holds an exclusive lock on ``<out>/.lock``; a second run on the same folder
  is refused.
* **Scale-out.** ``use_ray=True`` runs the same jobs on ``workers`` Ray actors (``RAY_ADDRESS``, else
  a local Ray) with the same rules: ``init`` once per actor, timeouts counted from a job's start.

>>> with RunFolder("outputs/x", {"config": {"k": 1}}, what="results") as run:
...     report = run.run([Job("a", 1), Job("b", 2)], work=square, workers=2)
>>> report.rows            # [{"id": "a", "status": "ok", ...}, {"id": "b", ...}] in job order

``work(payload)`` (and ``init(init_arg)``, run once per worker process) must be importable
module-level functions; payloads and return values must pickle.
"""

from __future__ import annotations

import json
import logging
import multiprocessing as mp
import os
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from embodied.errors import ConfigError, EmbodiedError
from embodied.files import TMP_GLOB, atomic_write, file_lock

__all__ = ["Job", "RunReport", "RunFolder", "ResultsLog", "run_jobs", "check_run_config", "init_ray",
           "WorkerStartError", "JobsFailedError", "RESULTS_FILE"]

log = logging.getLogger(__name__)

RESULTS_FILE = "results.jsonl"
OK, ERROR, TIMEOUT = "ok", "error", "timeout"


class WorkerStartError(EmbodiedError):
    """A worker could not start (its ``init`` raised): a setup problem, not a bad job."""


class JobsFailedError(EmbodiedError):
    """Every job of a run failed (the CLI exits non-zero)."""


@dataclass(frozen=True)
class Job:
    """One unit of work.

    Attributes:
        id: unique within the run (across scenes and sources); the key of its results row.
        payload: what ``work`` receives (must pickle).
        meta: JSON fields copied into the job's row whatever happens (e.g. scene and goal of an
            episode, so a failed episode still counts in its category).
    """

    id: str
    payload: Any = None
    meta: Mapping[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- results log
class ResultsLog:
    """Append-only JSONL of result rows; each line is written and fsynced whole, so a killed run
    loses at most the jobs in flight, and a torn last line (``kill -9`` mid-write) is ignored."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def rows(self) -> list[dict[str, Any]]:
        """Every row written so far, in order."""
        if not self.path.exists():
            return []
        out = []
        for line in self.path.read_text().splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(row, dict):
                out.append(row)
        return out

    def latest(self, key: str = "id") -> dict[str, dict[str, Any]]:
        """The last row written per ``key`` (a retried job's new row wins)."""
        return {r[key]: r for r in self.rows() if key in r}

    def append(self, row: Mapping[str, Any]) -> None:
        data = (json.dumps(row, sort_keys=True) + "\n").encode()
        if self.path.exists() and self.path.stat().st_size:
            with open(self.path, "rb") as f:  # a crash may have left a torn last line: start afresh
                f.seek(-1, os.SEEK_END)
                if f.read(1) != b"\n":
                    data = b"\n" + data
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)


# --------------------------------------------------------------------------- run folder
def _normalized(d: Any) -> Any:
    return json.loads(json.dumps(d))  # tuples -> lists, as they are read back from the file


def check_run_config(out: str | os.PathLike, record: Mapping[str, Any], what: str) -> None:
    """Refuse an output folder made with another configuration, else (re)write its config.json.

    Args:
        out: the output folder.
        record: what config.json should hold; only ``record["config"]`` is compared with the file's.
        what: how the error names the folder's contents ("episodes", "pairs mined", "renders made").

    Raises:
        ConfigError: ``out/config.json`` holds a different ``config`` (the message lists the keys).
    """
    path = Path(out) / "config.json"
    cfg = _normalized(record["config"])
    if path.exists():
        try:
            old = json.loads(path.read_text()).get("config")
        except (json.JSONDecodeError, AttributeError):
            old = None  # unreadable (torn by hand): rewritten below
        if isinstance(old, dict) and old != cfg:
            diff = sorted(_diff_keys(old, cfg))
            raise ConfigError(f"{out} holds {what} with a different configuration (differs in: {', '.join(diff)}); "
                              "use another --out, or delete the folder to start over")
    atomic_write(path, json.dumps(_normalized(dict(record)), indent=1).encode())


def _diff_keys(a: Mapping[str, Any], b: Mapping[str, Any], prefix: str = "") -> list[str]:
    out = []
    for k in set(a) | set(b):
        va, vb = a.get(k), b.get(k)
        if isinstance(va, dict) and isinstance(vb, dict):
            out += _diff_keys(va, vb, f"{prefix}{k}.")
        elif va != vb:
            out.append(prefix + k)
    return out


class RunFolder:
    """An output folder a run owns: locked, cleaned of a killed run's temporary files, and checked
    against its ``config.json`` (see :func:`check_run_config`).

    Args:
        out: the folder (created).
        record: written to config.json; ``record["config"]`` is the run's identity.
        what: what the folder holds, for messages ("episodes").
    """

    def __init__(self, out: str | os.PathLike, record: Mapping[str, Any], *, what: str = "results") -> None:
        self.out = Path(out)
        self.record, self.what = record, what
        self.results = ResultsLog(self.out / RESULTS_FILE)
        self._lock: Any = None

    def __enter__(self) -> RunFolder:
        self.out.mkdir(parents=True, exist_ok=True)
        self._lock = file_lock(self.out / ".lock", blocking=False, what=str(self.out))
        self._lock.__enter__()
        try:
            for stale in self.out.glob(TMP_GLOB):  # temporary files of a killed run's atomic writes
                stale.unlink(missing_ok=True)
            check_run_config(self.out, self.record, self.what)
        except BaseException:
            self._lock.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc: Any) -> None:
        self._lock.__exit__(*exc)

    def run(self, jobs: Sequence[Job], work: Callable[[Any], Any], **kw: Any) -> RunReport:
        """:func:`run_jobs` into this folder's results.jsonl."""
        return run_jobs(jobs, work, self.results, **kw)

    def write_json(self, name: str, data: Any) -> Path:
        """Write ``data`` as ``<out>/<name>`` atomically."""
        return atomic_write(self.out / name, json.dumps(data, indent=1).encode())


# --------------------------------------------------------------------------- the report
@dataclass
class RunReport:
    """What a run ended with.

    Attributes:
        rows: the latest row of every job, in job order (finished earlier or now).
        ran: jobs run by this call (the rest were already done).
    """

    rows: list[dict[str, Any]]
    ran: int

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [r for r in self.rows if r.get("status") != OK]

    @property
    def all_failed(self) -> bool:
        return bool(self.rows) and len(self.failed) == len(self.rows)

    def failure_line(self, what: str = "jobs", where: str | os.PathLike | None = None) -> str | None:
        """One line naming how many failed and the first reason (None when none did)."""
        bad = self.failed
        if not bad:
            return None
        first = bad[0]
        loc = f" (reasons in {where})" if where else ""
        return (f"{len(bad)} of {len(self.rows)} {what} failed{loc}; first: {first['id']}: {first.get('status')}: "
                f"{first.get('error', '?')}. A rerun of the same command retries them.")

    def raise_if_all_failed(self, what: str = "jobs", where: str | os.PathLike | None = None) -> None:
        """Raise :class:`JobsFailedError` (naming the first reason) when no job succeeded."""
        if self.all_failed:
            first = self.failed[0]
            loc = f" (reasons in {where})" if where else ""
            raise JobsFailedError(f"all {len(self.rows)} {what} failed{loc}; first: {first['id']}: "
                                  f"{first.get('status')}: {first.get('error', '?')}")


# --------------------------------------------------------------------------- running
def run_jobs(jobs: Sequence[Job], work: Callable[[Any], Any], results: ResultsLog, *,
             init: Callable[[Any], None] | None = None, init_arg: Any = None,
             record: Callable[[Job, Any], Mapping[str, Any]] | None = None,
             workers: int = 1, use_ray: bool = False, timeout_s: float | None = None, ordered: bool = False,
             retry_errors: bool = True, progress: str | None = "jobs",
             postfix: Callable[[list[dict[str, Any]]], Mapping[str, Any]] | None = None) -> RunReport:
    """Run the jobs not yet done, appending one row per finished job to ``results``.

    Args:
        jobs: unique ids (ConfigError otherwise).
        work: ``work(payload) -> value``, run in a worker. A value that is a dict with ``status``
            "error" and ``error`` counts as a failed job.
        results: the log to resume from and append to.
        init: ``init(init_arg)``, run once per worker before its first job (load models here).
        record: in the parent, turns a job's value into its row fields (default: the value itself,
            which must then be a JSON dict). With ``ordered`` it is called in job order.
        workers: parallel worker processes (Ray actors with ``use_ray``). 0, or 1 without a
            timeout, runs in this process.
        timeout_s: seconds per job before its worker is killed (status "timeout"; processes and Ray).
        ordered: deliver results (``record`` calls and rows) in the order of ``jobs``.
        retry_errors: run again jobs whose latest row failed (else they count as done).
        progress: tqdm description (None: no bar). ``postfix(rows)`` gives the bar's live figures.

    Returns:
        The :class:`RunReport`. KeyboardInterrupt propagates after the workers are stopped.
    """
    ids = [j.id for j in jobs]
    if len(set(ids)) != len(ids):
        seen: set[str] = set()
        dup = sorted({i for i in ids if i in seen or seen.add(i)})
        raise ConfigError(f"job ids must be unique within a run; repeated: {', '.join(dup[:10])}")
    latest = results.latest()
    done = {i for i, r in latest.items() if r.get("status") == OK or r.get("final") or not retry_errors}
    todo = [j for j in jobs if j.id not in done]
    rows_by_id = {i: latest[i] for i in ids if i in latest}

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(jobs), initial=len(jobs) - len(todo), desc=progress, unit="job")

    def show() -> None:
        if bar is not None and postfix is not None:
            bar.set_postfix(postfix([rows_by_id[i] for i in ids if i in rows_by_id]), refresh=False)

    show()
    try:
        for job, status, value in _deliver(todo, work, init, init_arg, workers, use_ray, timeout_s, ordered):
            if status == OK:
                fields = dict(record(job, value) if record is not None else value or {})
            else:
                fields = {"status": status, "error": value[0], "traceback": value[1]}
            row = {**job.meta, **fields, "id": job.id}
            row.setdefault("status", OK)
            if row["status"] != OK:
                log.warning("job %s %s: %s", job.id, row["status"], row.get("error"))
            results.append(row)
            rows_by_id[job.id] = row
            if bar is not None:
                show()
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return RunReport(rows=[rows_by_id[i] for i in ids if i in rows_by_id], ran=len(todo))


def _reason(exc: BaseException) -> tuple[str, list[str]]:
    tb = traceback.format_exc().strip().splitlines()
    return f"{type(exc).__name__}: {' '.join(str(exc).split())}", tb[-6:]


def _call(work: Callable[[Any], Any], payload: Any) -> tuple[str, Any]:
    try:
        value = work(payload)
    except Exception as exc:  # noqa: BLE001 - becomes the job's row, never swallowed
        return ERROR, _reason(exc)
    if isinstance(value, Mapping) and value.get("status") == ERROR:
        return ERROR, (str(value.get("error", "?")), [])
    return OK, value


Outcome = tuple[Job, str, Any]  # (job, "ok" | "error" | "timeout", value | (reason, traceback))


def _deliver(todo: list[Job], work, init, init_arg, workers: int, use_ray: bool, timeout_s: float | None,
             ordered: bool) -> Iterator[Outcome]:
    if not todo:
        return
    if use_ray:
        source = _run_ray(todo, work, init, init_arg, max(1, workers), timeout_s)
    elif workers <= 0 or (workers == 1 and not timeout_s):
        source = _run_inline(todo, work, init, init_arg)
    else:
        source = _run_processes(todo, work, init, init_arg, workers, timeout_s)
    if not ordered:
        yield from source
        return
    order = {j.id: k for k, j in enumerate(todo)}
    buffer: dict[int, Outcome] = {}
    nxt = 0
    for out in source:
        buffer[order[out[0].id]] = out
        while nxt in buffer:
            yield buffer.pop(nxt)
            nxt += 1


def _run_inline(todo: list[Job], work, init, init_arg) -> Iterator[Outcome]:
    if init is not None:
        try:
            init(init_arg)
        except EmbodiedError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise WorkerStartError(f"the job setup failed: {_reason(exc)[0]}") from exc
    for job in todo:
        status, value = _call(work, job.payload)
        yield job, status, value


# --------------------------------------------------------------------------- worker processes
def _die_with_parent(parent_pid: int) -> None:
    """Make this process end when ``parent_pid`` does, even after ``kill -9`` of the parent."""
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG (Linux)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)

    def watch() -> None:  # portable fallback (macOS): the parent's death reparents us
        while True:
            time.sleep(0.5)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, daemon=True, name="embodied-parent-watch").start()


def _worker_main(conn: Any, parent_pid: int, work, init, init_arg) -> None:
    """Loop of a worker process: jobs in, outcomes out; exits when the parent goes away."""
    import signal

    _die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    try:
        if init is not None:
            init(init_arg)
        conn.send(("ready", None))  # the parent starts a job's clock only now
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which stops the run
        try:
            conn.send(("init-error", _reason(exc)[0]))
        except (BrokenPipeError, OSError):
            pass
        return
    except (BrokenPipeError, OSError):
        return
    while True:
        try:
            payload = conn.recv()
        except (EOFError, OSError):
            return
        if payload is None:
            return
        out = _call(work, payload)
        try:
            conn.send(out)
        except (BrokenPipeError, OSError):
            return
        except Exception as exc:  # noqa: BLE001 - the value did not pickle
            conn.send((ERROR, (f"the job's result could not be sent back: {type(exc).__name__}: {exc}", [])))


class _Slot:
    """One worker process and the job it runs."""

    def __init__(self, ctx: Any, work, init, init_arg) -> None:
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker_main, args=(child, os.getpid(), work, init, init_arg), daemon=True,
                                name="embodied-worker")
        self.proc.start()
        child.close()
        self.job: Job | None = None
        self.started = 0.0
        self.ready = False

    def give(self, job: Job) -> None:
        self.job, self.started = job, time.monotonic()
        self.conn.send(job.payload)

    def stop(self, kill: bool = False) -> None:
        if not kill:
            try:
                self.conn.send(None)
            except (BrokenPipeError, OSError):
                pass
            self.proc.join(timeout=5)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join()
        self.conn.close()


def _run_processes(todo: list[Job], work, init, init_arg, workers: int, timeout_s: float | None
                   ) -> Iterator[Outcome]:
    """Jobs on spawned worker processes, one job per worker at a time. A worker that dies (segfault,
    OOM kill) or outlives ``timeout_s`` fails only the job it was running and is replaced."""
    from multiprocessing.connection import wait

    ctx = mp.get_context("spawn")
    pending = deque(todo)
    new = lambda: _Slot(ctx, work, init, init_arg)  # noqa: E731
    slots = [new() for _ in range(min(workers, len(todo)))]
    try:
        while pending or any(s.job for s in slots):
            for s in slots:
                if s.ready and s.job is None and pending:
                    s.give(pending.popleft())
            busy = [s for s in slots if s.job is not None]
            wait_s = None
            if timeout_s and busy:
                wait_s = max(0.0, min(s.started + timeout_s for s in busy) - time.monotonic())
            ready = wait([s.conn for s in slots if s.job is not None or not s.ready], timeout=wait_s)
            now = time.monotonic()
            for k, s in enumerate(slots):
                if not s.ready and s.conn in ready:
                    try:
                        kind, msg = s.conn.recv()
                    except (EOFError, OSError):
                        s.proc.join(timeout=5)
                        kind, msg = "init-error", f"its process died while starting (exit code {s.proc.exitcode})"
                    if kind != "ready":
                        raise WorkerStartError(f"a worker could not start: {msg}; run with --workers 1 to see "
                                               "the error in this process")
                    s.ready = True
                    continue
                if s.job is None:
                    continue
                if s.conn in ready:
                    job = s.job
                    try:
                        status, value = s.conn.recv()
                        s.job = None
                    except (EOFError, OSError):  # the worker died (segfault in a decoder, OOM kill)
                        s.proc.join(timeout=5)
                        status, value = ERROR, (f"the worker process died (exit code {s.proc.exitcode}) while "
                                                "running this job", [])
                        s.job = None
                        s.stop(kill=True)
                        slots[k] = new()
                    yield job, status, value
                elif timeout_s and now - s.started >= timeout_s:
                    job = s.job
                    s.job = None
                    s.stop(kill=True)
                    slots[k] = new()
                    yield job, TIMEOUT, (f"timed out after {timeout_s:g} s (worker killed)", [])
    finally:
        for s in slots:
            s.stop(kill=s.job is not None)


# --------------------------------------------------------------------------- Ray
class _RayWorker:
    """A Ray actor, the counterpart of a worker process: ``init`` once (``ready``), then jobs (``run``)."""

    def __init__(self, work, init, init_arg) -> None:
        self.work, self.init, self.init_arg = work, init, init_arg

    def ready(self) -> str | None:
        """None once the setup is done, else why it failed."""
        if self.init is not None:
            try:
                self.init(self.init_arg)
            except Exception as exc:  # noqa: BLE001 - reported to the driver, which stops the run
                return _reason(exc)[0]
        return None

    def run(self, payload: Any) -> tuple[str, Any]:
        return _call(self.work, payload)


def init_ray(purpose: str = "--ray") -> Any:
    """The ``ray`` module, connected to ``RAY_ADDRESS`` or, when it is unset, to a local instance (started
    once per process). Raises MissingDependencyError naming the ``[ray]`` extra when ray is missing."""
    from embodied.optional import require

    ray = require("ray", extra="ray", purpose=purpose)
    if not ray.is_initialized():
        ray.init(address=os.environ.get("RAY_ADDRESS"), ignore_reinit_error=True)
    return ray


def _run_ray(todo: list[Job], work, init, init_arg, workers: int, timeout_s: float | None) -> Iterator[Outcome]:
    """Jobs on ``workers`` Ray actors (one CPU each), one job per actor at a time, as on worker processes:
    a job's clock starts when an actor that has finished ``init`` takes it, an actor that dies or outlives
    ``timeout_s`` fails only its job and is replaced, and a failed ``init`` stops the run. Outputs written
    by jobs must go to storage all nodes share."""
    ray = init_ray()
    actor = ray.remote(num_cpus=1, max_restarts=0, max_task_retries=0)(_RayWorker)
    pending = deque(todo)
    starting: dict[Any, Any] = {}  # ready() ref -> actor
    idle: list[Any] = []
    running: dict[Any, tuple[Job, Any, float]] = {}  # run() ref -> (job, actor, start)

    def spawn() -> None:
        a = actor.remote(work, init, init_arg)
        starting[a.ready.remote()] = a

    def reason(exc: Exception) -> str:
        return f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"

    for _ in range(min(workers, len(todo))):
        spawn()
    try:
        while pending or running:
            while pending and idle:
                a, job = idle.pop(), pending.popleft()
                running[a.run.remote(job.payload)] = (job, a, time.monotonic())
            wait_s = None
            if timeout_s and running:
                wait_s = max(0.0, min(t + timeout_s for _, _, t in running.values()) - time.monotonic())
            ready, _ = ray.wait([*starting, *running], num_returns=1, timeout=wait_s)
            for ref in ready:
                if ref in starting:
                    a = starting.pop(ref)
                    try:
                        msg = ray.get(ref)
                    except Exception as exc:  # noqa: BLE001 - the actor died while starting
                        msg = f"its Ray actor died while starting ({reason(exc)})"
                    if msg is not None:
                        raise WorkerStartError(f"a worker could not start: {msg}; run with --workers 1 to see "
                                               "the error in this process")
                    idle.append(a)
                    continue
                job, a, _t = running.pop(ref)
                try:
                    status, value = ray.get(ref)
                    idle.append(a)
                except Exception as exc:  # noqa: BLE001 - a dead worker or a lost node: this job's failure
                    status, value = ERROR, (f"the Ray task failed: {reason(exc)}", [])
                    ray.kill(a)
                    if pending:
                        spawn()
                yield job, status, value
            now = time.monotonic()
            for ref, (job, a, t) in list(running.items()):
                if timeout_s and now - t >= timeout_s:
                    running.pop(ref)
                    ray.kill(a)
                    if pending:
                        spawn()
                    yield job, TIMEOUT, (f"timed out after {timeout_s:g} s (Ray worker killed)", [])
    finally:
        for a in [*idle, *starting.values(), *(a for _, a, _ in running.values())]:
            ray.kill(a)
