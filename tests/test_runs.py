"""The one job runner (embodied.runs): resume, failures as rows, order, timeouts, no orphans."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from embodied.errors import ConfigError
from embodied.runs import Job, JobsFailedError, ResultsLog, RunFolder, WorkerStartError, run_jobs
from tests import runs_jobs

ROOT = Path(__file__).resolve().parents[1]


def _jobs(n, **extra):
    return [Job(f"j{i}", {"x": i, **extra}, meta={"group": i % 2}) for i in range(n)]


def test_rows_in_job_order_with_meta_and_init(tmp_path):
    log = ResultsLog(tmp_path / "r.jsonl")
    rep = run_jobs(_jobs(4), runs_jobs.square, log, init=runs_jobs.init, init_arg="m", workers=1, progress=None)
    assert [r["id"] for r in rep.rows] == ["j0", "j1", "j2", "j3"]
    assert [r["y"] for r in rep.rows] == [0, 1, 4, 9]
    assert all(r["status"] == "ok" and r["init"] == "m" for r in rep.rows)
    assert [r["group"] for r in rep.rows] == [0, 1, 0, 1]
    assert rep.ran == 4 and not rep.failed and rep.failure_line() is None
    assert len(log.rows()) == 4


def test_errors_are_rows_and_a_rerun_retries_only_them(tmp_path):
    log = ResultsLog(tmp_path / "r.jsonl")
    flag = tmp_path / "fixed"
    jobs = [Job("a", {"x": 1}), Job("b", {"x": 2, "fail_unless": str(flag)}), Job("c", {"x": 3, "error_row": True})]
    rep = run_jobs(jobs, runs_jobs.square, log, progress=None)
    st = {r["id"]: r for r in rep.rows}
    assert st["a"]["status"] == "ok"
    assert st["b"]["status"] == "error" and st["b"]["error"] == "ValueError: bad input 2"
    assert any("bad input 2" in ln for ln in st["b"]["traceback"])
    assert st["c"]["status"] == "error" and st["c"]["error"] == "unknown goal 'unicorn'"
    assert "2 of 3 jobs failed" in rep.failure_line() and not rep.all_failed
    # without retry: nothing runs again
    rep2 = run_jobs(jobs, runs_jobs.square, log, retry_errors=False, progress=None)
    assert rep2.ran == 0 and len(log.rows()) == 3
    # with retry (the default): only the failed ones run; the fixed one is now ok, the finished one is not repeated
    flag.touch()
    rep3 = run_jobs(jobs, runs_jobs.square, log, progress=None)
    assert rep3.ran == 2
    assert {r["id"]: r["status"] for r in rep3.rows} == {"a": "ok", "b": "ok", "c": "error"}
    assert [r["id"] for r in log.rows()] == ["a", "b", "c", "b", "c"]
    assert run_jobs(jobs[:2], runs_jobs.square, log, progress=None).ran == 0


def test_final_failures_are_not_retried(tmp_path):
    log = ResultsLog(tmp_path / "r.jsonl")
    jobs = [Job("a", {"x": 1}), Job("u", {"x": 2, "final_row": True})]
    rep = run_jobs(jobs, runs_jobs.square, log, progress=None)
    assert {r["id"]: r["status"] for r in rep.rows} == {"a": "ok", "u": "unreachable"} and rep.failed
    assert run_jobs(jobs, runs_jobs.square, log, progress=None).ran == 0  # retry_errors on: still not rerun
    assert len(log.rows()) == 2


def test_all_failed_raises_and_duplicate_ids_are_refused(tmp_path):
    log = ResultsLog(tmp_path / "r.jsonl")
    rep = run_jobs([Job("a", {"x": 1, "error_row": True})], runs_jobs.square, log, progress=None)
    assert rep.all_failed
    with pytest.raises(JobsFailedError, match="all 1 episodes failed.*first: a: error: unknown goal"):
        rep.raise_if_all_failed("episodes")
    with pytest.raises(ConfigError, match="unique.*repeated: a"):
        run_jobs([Job("a", {"x": 1}), Job("a", {"x": 2})], runs_jobs.square, log, progress=None)


def test_processes_worker_death_and_timeout_fail_only_their_job(tmp_path):
    log = ResultsLog(tmp_path / "r.jsonl")
    jobs = [Job("ok1", {"x": 1}), Job("dies", {"x": 2, "exit": 7}), Job("slow", {"x": 3, "sleep": 60}),
            Job("ok2", {"x": 4}), Job("ok3", {"x": 5})]
    t0 = time.monotonic()
    rep = run_jobs(jobs, runs_jobs.square, log, init=runs_jobs.init, init_arg="p", workers=2, timeout_s=8,
                   progress=None)
    assert time.monotonic() - t0 < 50
    st = {r["id"]: r for r in rep.rows}
    assert [st[k]["status"] for k in ("ok1", "dies", "slow", "ok2", "ok3")] == ["ok", "error", "timeout", "ok", "ok"]
    assert "worker process died (exit code 7)" in st["dies"]["error"]
    assert st["slow"]["error"] == "timed out after 8 s (worker killed)"
    assert {st[k]["y"] for k in ("ok1", "ok2", "ok3")} == {1, 16, 25} and st["ok1"]["init"] == "p"
    assert all(st[k]["pid"] != os.getpid() for k in ("ok1", "ok2", "ok3"))


def test_ray_actors_follow_the_same_rules(tmp_path, ray_session):
    """On Ray: a slow setup counts against no job's timeout, a dead or timed-out actor fails only its job
    and is replaced, and a failed setup stops the run with its reason."""
    jobs = [Job("ok1", {"x": 1}), Job("dies", {"x": 2, "exit": 7}), Job("slow", {"x": 3, "sleep": 60}),
            Job("ok2", {"x": 4}), Job("ok3", {"x": 5})]
    rep = run_jobs(jobs, runs_jobs.square, ResultsLog(tmp_path / "r.jsonl"), init=runs_jobs.init, init_arg="slow:6",
                   workers=2, use_ray=True, timeout_s=4, progress=None)
    st = {r["id"]: r for r in rep.rows}
    assert [st[k]["status"] for k in ("ok1", "dies", "slow", "ok2", "ok3")] == ["ok", "error", "timeout", "ok", "ok"]
    assert "the Ray task failed" in st["dies"]["error"]
    assert st["slow"]["error"] == "timed out after 4 s (Ray worker killed)"
    assert {st[k]["y"] for k in ("ok1", "ok2", "ok3")} == {1, 16, 25}
    assert {st[k]["init"] for k in ("ok1", "ok2", "ok3")} == {"slow:6"}
    assert all(st[k]["pid"] != os.getpid() for k in ("ok1", "ok2", "ok3"))
    with pytest.raises(WorkerStartError, match="cannot load the model"):
        run_jobs(_jobs(2), runs_jobs.square, ResultsLog(tmp_path / "boom.jsonl"), init=runs_jobs.init,
                 init_arg="boom", workers=2, use_ray=True, progress=None)


def test_ordered_delivery_follows_job_order(tmp_path):
    seen = []

    def record(job, value):
        seen.append(job.id)
        return value

    jobs = [Job("first-slow", {"x": 1, "sleep": 1.5}), Job("b", {"x": 2}), Job("c", {"x": 3}), Job("d", {"x": 4})]
    run_jobs(jobs, runs_jobs.square, ResultsLog(tmp_path / "r.jsonl"), workers=2, timeout_s=60, ordered=True,
             record=record, progress=None)
    assert seen == ["first-slow", "b", "c", "d"]


def test_init_failure_stops_the_run_with_the_reason(tmp_path):
    for workers in (1, 2):
        with pytest.raises(WorkerStartError, match="cannot load the model"):
            run_jobs(_jobs(3), runs_jobs.square, ResultsLog(tmp_path / f"r{workers}.jsonl"), init=runs_jobs.init,
                     init_arg="boom", workers=workers, timeout_s=30 if workers > 1 else None, progress=None)


def test_run_folder_identity_lock_and_other_worker_counts(tmp_path):
    out = tmp_path / "run"
    with RunFolder(out, {"config": {"k": 1}, "episodes": 3}, what="episodes") as run:
        assert run.run(_jobs(3), runs_jobs.square, workers=1, progress=None).ran == 3
        with pytest.raises(ConfigError, match="another run is writing to"):
            RunFolder(out, {"config": {"k": 1}}).__enter__()
        (out / ".summary.json.tmp-123").write_text("torn")
    assert json.loads((out / "config.json").read_text())["episodes"] == 3
    with RunFolder(out, {"config": {"k": 1}}) as run:  # another worker count: resumes, repeats nothing
        assert not (out / ".summary.json.tmp-123").exists()
        rep = run.run(_jobs(5), runs_jobs.square, workers=2, timeout_s=30, progress=None)
        assert rep.ran == 2 and [r["y"] for r in rep.rows] == [0, 1, 4, 9, 16]
    with pytest.raises(ConfigError, match=r"different configuration \(differs in: k\)"):
        RunFolder(out, {"config": {"k": 2}}).__enter__()


_PARENT = textwrap.dedent("""
    import sys
    from pathlib import Path
    from embodied.runs import Job, ResultsLog, run_jobs
    from tests import runs_jobs
    pid_dir = sys.argv[1]
    jobs = [Job(f"j{i}", {"x": i, "sleep": 120, "pid_dir": pid_dir}) for i in range(4)]
    run_jobs(jobs, runs_jobs.square, ResultsLog(Path(pid_dir) / "r.jsonl"), workers=2, timeout_s=300, progress=None)
""")


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT, signal.SIGTERM])
def test_killing_the_parent_leaves_no_workers(tmp_path, sig):
    proc = subprocess.Popen([sys.executable, "-c", _PARENT, str(tmp_path)], cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while len(list(tmp_path.glob("*.pid"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        pids = [int(p.stem) for p in tmp_path.glob("*.pid")]
        assert len(pids) == 2 and all(_alive(p) for p in pids)
        proc.send_signal(sig)
        proc.wait(timeout=30)
        deadline = time.monotonic() + 10
        while any(_alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not [p for p in pids if _alive(p)], "orphaned workers"
    finally:
        if proc.poll() is None:
            proc.kill()
