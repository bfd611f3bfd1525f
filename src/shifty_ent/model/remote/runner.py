"""A training job run on a GPU instance of the tenant over SSH, followed from here.

``start`` queues the job and claims it at once (no ``train run`` elsewhere takes it), rents an
instance through the gpu group (its budgets and price ceiling apply) or takes ``--instance``,
connects, ships code, dataset and job in one tar stream (a custom base too; a Hugging Face base
is fetched by the instance at its pinned revision), starts the worker detached (``nohup
setsid``) and follows it:

- every poll is one round trip on the shared SSH connection: the new progress lines become the
  job's ``training_points`` as ``train run`` records them (the loss curve fills live), the
  heartbeat is stamped, and a cancel request is passed on (the remote process is killed);
- the adapter comes back as a tar stream, is checked file by file against the sha256 sums the
  instance computed, and is registered as a new version with lineage, as a local run would;
- an instance the job rented is terminated when the job ends: succeeded, failed, cancelled or
  interrupted (Ctrl-C).

All the state needed to go on lives in the store (:class:`RemoteRun`), so ``attach`` resumes
following after the local process died, from any host, and ``cancel`` reaches the remote run.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlmodel import col

from shifty_ent.arcade import api as arcade_api
from shifty_ent.core import errors
from shifty_ent.core.authz import authorize
from shifty_ent.core.context import Context
from shifty_ent.core.errors import (
    Conflict,
    ExternalServiceError,
    Interrupted,
    InvalidInput,
    NotFound,
    ShiftyError,
)
from shifty_ent.gpu import api as gpu_api
from shifty_ent.model import examples, permissions, storage, training
from shifty_ent.model.remote import ship
from shifty_ent.model.remote.ssh import Session, SshError, Target, default_user, shell_quote
from shifty_ent.model.remote.tables import RemoteRun
from shifty_ent.model.tables import ModelVersion, TrainingJob, TrainingPoint

# a CUDA image with torch; the launcher installs transformers/peft when it lacks them
TRAIN_IMAGE = "pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime"
DEFAULT_POLL_S = 5.0
BOOT_TIMEOUT_S = 900.0  # renting until the instance runs
SSH_READY_S = 300.0  # until its SSH server answers
SHIP_TIMEOUT_S = 3600.0
LOST_CONTACT_S = 300.0  # polls failing this long fail the job
FOLLOWER_GRACE_S = 10.0  # a heartbeat older than 3 polls plus this is a dead follower's

Progress = Callable[[dict[str, Any]], None]


def remote_python() -> str:
    """The interpreter on the instance (``SHIFTY_REMOTE_PYTHON``, default ``python3``)."""
    return os.environ.get("SHIFTY_REMOTE_PYTHON") or "python3"


def remote_root() -> str:
    """Where jobs live on the instance (``SHIFTY_REMOTE_DIR``; relative paths are below the
    login's home)."""
    return os.environ.get("SHIFTY_REMOTE_DIR") or "shifty-ent-jobs"


def follower_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class Placement:
    """Where to run: rent (``gpu_type`` + ``max_price``) or reuse ``instance``."""

    gpu_type: str | None = None
    max_price: str | None = None
    instance: str | None = None

    def check(self) -> None:
        if self.instance and (self.gpu_type or self.max_price):
            raise InvalidInput("give --instance, or --type with --max-price, not both")
        if not self.instance and not (self.gpu_type and self.max_price):
            raise InvalidInput("--on-gpu needs --type and --max-price (or --instance)")


@dataclass
class _Remote:
    """What one run of the follower found out (metrics from the instance)."""

    metrics_doc: dict[str, Any] = field(default_factory=dict)

    def metrics(self) -> dict[str, Any]:
        return dict(self.metrics_doc)


# ------------------------------------------------------------------ start


def _check_poll(poll: float) -> None:
    if not 0.05 <= poll <= 600:
        raise InvalidInput("--poll must be between 0.05 and 600 seconds")


def start(
    ctx: Context,
    placement: Placement,
    *,
    poll: float = DEFAULT_POLL_S,
    threads: int | None = None,
    progress: Progress | None = None,
    **job_args: Any,
) -> TrainingJob:
    """Queue a fine-tune, claim it, and run it on a GPU instance (see the module docstring)."""
    placement.check()
    _check_poll(poll)
    job = training.start_job(ctx, **job_args)
    me = follower_name()
    if not training.claim(ctx, job.id, f"remote via {me}"):
        raise Conflict(f"training job {job.id} was taken by another worker")
    run = RemoteRun(
        tenant_id=job.tenant_id,
        job_id=job.id,
        follower=me,
        heartbeat_at=ctx.now(),
        poll_seconds=poll,
        created_at=ctx.now(),
    )
    ctx.session.add(run)
    ctx.audit(
        "model.train.remote",
        target_type="training_job",
        target_id=job.id,
        details={
            "instance": placement.instance,
            "gpu_type": placement.gpu_type,
            "max_price": placement.max_price,
        },
    )
    ctx.session.commit()
    ctx.session.refresh(job)
    follower = _Follower(ctx, job, run, progress)
    return follower.guarded(lambda: follower.launch(placement, threads))


# ------------------------------------------------------------------ attach


def attach(
    ctx: Context, ref: str, *, progress: Progress | None = None, poll: float | None = None
) -> TrainingJob:
    """Follow a remote job again (its follower died): to its end, with the same cleanup."""
    authorize(ctx, permissions.TRAIN)
    if poll is not None:
        _check_poll(poll)
    job = training._job(ctx, ref)
    run = _run_of(ctx, job)
    if job.status != "running":
        # the follower may have died between the job's end and the instance's termination
        _terminate_rented(ctx, job, run)
        raise Conflict(f"training job {job.id} already {job.status}")
    _take_over(ctx, run)
    if poll is not None:
        run.poll_seconds = poll
    ctx.audit(
        "model.train.attach",
        target_type="training_job",
        target_id=job.id,
        details={"phase": run.phase, "follower": run.follower},
    )
    ctx.session.commit()
    follower = _Follower(ctx, job, run, progress)
    if run.phase not in ("running", "fetching"):
        phase = run.phase
        return follower.guarded(lambda: follower.fail(f"its follower stopped while {phase}"))
    return follower.guarded(follower.resume)


def _run_of(ctx: Context, job: TrainingJob) -> RemoteRun:
    run = ctx.session.get(RemoteRun, (job.tenant_id, job.id))
    if run is None:
        raise NotFound(f"training job {job.id} does not run on a GPU instance")
    return run


def _follower_alive(run: RemoteRun, now: Any) -> bool:
    """Whether the recorded follower may still be following (a fresh heartbeat, or a process
    that still exists on this host)."""
    if not run.follower:
        return False
    host, _, pid = run.follower.rpartition(":")
    if host == socket.gethostname() and pid.isdigit():
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    if run.heartbeat_at is None:
        return False
    age = (now - run.heartbeat_at).total_seconds()
    return age < 3 * run.poll_seconds + FOLLOWER_GRACE_S


def _take_over(ctx: Context, run: RemoteRun) -> None:
    """Become the run's follower; refused while another one is alive (exit 5)."""
    if _follower_alive(run, ctx.now()):
        raise Conflict(f"the run is followed by {run.follower}; attach once it has stopped")
    me = follower_name()
    taken = ctx.session.execute(
        update(RemoteRun)
        .where(
            col(RemoteRun.tenant_id) == run.tenant_id,
            col(RemoteRun.job_id) == run.job_id,
            col(RemoteRun.follower) == run.follower
            if run.follower is not None
            else col(RemoteRun.follower).is_(None),
        )
        .values(follower=me, heartbeat_at=ctx.now())
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]  # DML returns a CursorResult
    if taken != 1:
        raise Conflict("another process attached to the run first")
    ctx.session.refresh(run)


# ------------------------------------------------------------------ cancel


def cancel(ctx: Context, ref: str, *, force: bool = False) -> dict[str, Any]:
    """``train cancel``: as for any job, and for a remote run, kill the remote process; when
    nobody follows the run any more, end the job and terminate the instance it rented."""
    job = training.cancel_job(ctx, ref, force=force)
    row = job.public()
    run = ctx.session.get(RemoteRun, (job.tenant_id, job.id))
    if run is None:
        return row
    ctx.session.commit()  # the request is recorded before any network call
    stopped = False
    if run.phase in ("running", "fetching") and run.ssh_host and run.workdir:
        try:
            with _session(run) as sess:
                sess.run(_kill_command(run), timeout=30, check=False)
            stopped = True
        except SshError:
            stopped = False
    orphaned = not _follower_alive(run, ctx.now())
    if job.status == "running" and orphaned:
        training._finish(ctx, job, "cancelled", error=f"cancelled by {ctx.actor} (no follower)")
    ctx.session.refresh(job)
    if job.status != "running":
        _terminate_rented(ctx, job, run)
    row = job.public()
    row["remote"] = {**run.public(), "process_stopped": stopped}
    return row


# ------------------------------------------------------------------ the follower


class _Follower:
    """Drives one run from wherever it is to its end; every exit path cleans up."""

    def __init__(
        self, ctx: Context, job: TrainingJob, run: RemoteRun, progress: Progress | None
    ) -> None:
        self.ctx = ctx
        self.job = job
        self.run = run
        self.progress = progress
        self.sess: Session | None = None
        self.timings: dict[str, float] = dict(run.timings or {})

    # --------------------------------------------------------- lifecycle

    def guarded(self, body: Callable[[], TrainingJob]) -> TrainingJob:
        """Run ``body``; whatever happens, end the job's row, close SSH, terminate a rented
        instance. Ctrl-C kills the remote process and marks the job cancelled (exit 130)."""
        ctx, job = self.ctx, self.job
        pending: BaseException | None = None
        try:
            return body()
        except KeyboardInterrupt:
            ctx.session.rollback()
            self._kill_quietly()
            self._end("cancelled", "interrupted (Ctrl-C) on " + follower_name())
            pending = Interrupted(f"training job {job.id} interrupted; marked cancelled")
            raise pending from None
        except ShiftyError as exc:
            ctx.session.rollback()
            pending = exc
            self._end("failed", exc.message)
            raise
        except Exception as exc:
            ctx.session.rollback()
            line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            pending = exc
            self._end("failed", f"{type(exc).__name__}: {line}")
            raise ShiftyError(f"training job {job.id} failed: {line}") from exc
        finally:
            if self.sess is not None:
                if not self.run.rented and self.run.workdir and job.status != "running":
                    self._quiet(lambda s: s.run(f"rm -rf {shell_quote(self.run.workdir or '')}"))
                self.sess.close()
            self._save(timings=self.timings)
            try:
                ctx.session.refresh(job)
                if job.status != "running":
                    _terminate_rented(ctx, job, self.run)
            except ShiftyError as exc:
                if pending is None:
                    raise
                sys.stderr.write(f"warning: {exc.message}\n")

    def _end(self, status: str, error: str) -> None:
        """Mark a still-running job ended (no-op when it already is)."""
        self.ctx.session.refresh(self.job)
        if self.job.status == "running":
            training._finish(self.ctx, self.job, status, error=error)

    def fail(self, why: str) -> TrainingJob:
        raise ExternalServiceError(f"training job {self.job.id} cannot go on: {why}")

    def _save(self, **values: Any) -> None:
        values["updated_at"] = self.ctx.now()
        self.ctx.session.execute(
            update(RemoteRun)
            .where(
                col(RemoteRun.tenant_id) == self.run.tenant_id,
                col(RemoteRun.job_id) == self.run.job_id,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        self.ctx.session.commit()
        self.ctx.session.refresh(self.run)

    def _timed(self, name: str, started: float) -> None:
        self.timings[name] = round(self.timings.get(name, 0.0) + time.perf_counter() - started, 4)

    # --------------------------------------------------------- launch

    def launch(self, placement: Placement, threads: int | None) -> TrainingJob:
        ctx, job, run = self.ctx, self.job, self.run
        base = ctx.session.get(ModelVersion, job.base_model_id)
        if base is None:
            raise NotFound("base model version is gone")
        # read the dataset and check the base here first: bad input fails before any rent
        texts = examples.training_examples(*_dataset_and_template(ctx, job))
        base_dir = training.base_dir(ctx, base) if base.source == "custom" else None
        ctx.session.commit()
        t0 = time.perf_counter()
        if placement.instance:
            inst = gpu_api.get_instance(ctx, placement.instance)
            if inst.gone:
                raise Conflict(f"instance {str(inst.id)[:8]} is {inst.status}")
            self._save(instance_id=inst.id, rented=False, phase="connecting")
        else:
            request = gpu_api.ProvisionRequest(
                gpu_type=placement.gpu_type or "",
                max_price=placement.max_price,
                image=TRAIN_IMAGE,
                poll_interval=run.poll_seconds,
            )
            inst = gpu_api.provision(ctx, request)
            self._save(instance_id=inst.id, rented=True, phase="connecting")
        endpoint = gpu_api.ssh_endpoint(
            ctx, inst.id, timeout=BOOT_TIMEOUT_S, poll_interval=run.poll_seconds
        )
        self._timed("rent_s", t0)
        t0 = time.perf_counter()
        target = Target(default_user(), endpoint.host, endpoint.port)
        self.sess = Session(target)
        self.sess.wait_ready(SSH_READY_S, interval=min(run.poll_seconds, 5.0))
        workdir = f"{remote_root()}/{job.id}"
        self._save(
            ssh_user=target.user,
            ssh_host=target.host,
            ssh_port=target.port,
            host_key=self.sess.host_key(),
            workdir=workdir,
            phase="shipping",
        )
        self._timed("connect_s", t0)
        t0 = time.perf_counter()
        spec = {
            "job_id": str(job.id),
            "hyperparameters": dict(job.hyperparameters),
            "base": _base_spec(ctx, base),
            "threads": threads,
        }
        hf_token = ctx.settings.hf_token if base.source == "huggingface" else None
        q = shell_quote(workdir)
        self.sess.run(f"rm -rf {q}", timeout=60)
        with ship.build_payload(
            texts, spec, python=remote_python(), base_dir=base_dir, hf_token=hf_token
        ) as payload:
            self.timings["shipped_bytes"] = payload.seek(0, 2)
            payload.seek(0)
            self.sess.send_tar(payload, workdir, timeout=SHIP_TIMEOUT_S)
        self._timed("ship_s", t0)
        started = self.sess.run(
            f"cd {q} && (command -v setsid >/dev/null && S=setsid || S=; "
            "nohup $S sh run.sh > worker.log 2>&1 < /dev/null & echo $!)",
            timeout=60,
        )
        pid = int(started.stdout.decode().strip().splitlines()[-1])
        self._save(remote_pid=pid, phase="running", heartbeat_at=ctx.now())
        ctx.audit(
            "model.train.remote.launch",
            target_type="training_job",
            target_id=job.id,
            details={"instance_id": str(inst.id), "ssh": str(target), "pid": pid},
        )
        ctx.session.commit()
        return self.follow()

    # --------------------------------------------------------- resume and follow

    def resume(self) -> TrainingJob:
        run = self.run
        assert run.ssh_host and run.ssh_port and run.ssh_user
        self.sess = _session(run)
        return self.follow()

    def follow(self) -> TrainingJob:
        """Poll until the worker ends, then register (or record why not)."""
        ctx, job, run = self.ctx, self.job, self.run
        assert self.sess is not None
        last_step = (
            ctx.session.scalar(
                select(col(TrainingPoint.step))
                .where(col(TrainingPoint.tenant_id) == job.tenant_id)
                .where(col(TrainingPoint.job_id) == job.id)
                .order_by(col(TrainingPoint.step).desc())
                .limit(1)
            )
            or 0
        )
        offset, killed, cancelled_by = 0, False, None
        lost_since: float | None = None
        result: dict[str, Any] | None = None
        polls = 0
        while True:
            t0 = time.perf_counter()
            try:
                out = self.sess.run(_poll_command(run, offset), timeout=60).stdout
            except SshError as exc:
                lost_since = lost_since or time.monotonic()
                if time.monotonic() - lost_since > LOST_CONTACT_S:
                    raise SshError(f"lost contact with the instance: {exc.message}") from None
                time.sleep(run.poll_seconds)
                continue
            lost_since = None
            polls += 1
            self._timed("poll_s", t0)
            alive, result, chunk = _parse_poll(out)
            complete = chunk[: chunk.rfind(b"\n") + 1]
            offset += len(complete)
            new_points = []
            for line in complete.decode("utf-8", "replace").splitlines():
                try:
                    point = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(point, dict) and int(point.get("step", 0)) > last_step:
                    new_points.append(point)
                    last_step = int(point["step"])
            flag = self._record(new_points)
            if flag is not None and cancelled_by is None:
                cancelled_by = flag
            if result is not None or not alive:
                break
            if cancelled_by is not None and not killed:
                self.sess.run(_kill_command(run), timeout=30, check=False)
                killed = True
            time.sleep(run.poll_seconds)
        self.timings["polls"] = self.timings.get("polls", 0) + polls
        if cancelled_by is None:
            cancelled_by = self._cancel_flag()
        return self._conclude(result, cancelled_by, last_step)

    def _record(self, points: list[dict[str, Any]]) -> str | None:
        """Store new progress points and the heartbeat in one commit; who asked to cancel."""
        ctx, job = self.ctx, self.job
        for point in points:
            ctx.session.add(
                TrainingPoint(
                    tenant_id=job.tenant_id,
                    job_id=job.id,
                    step=int(point["step"]),
                    epoch=float(point.get("epoch", 0.0)),
                    loss=float(point["loss"]),
                    learning_rate=float(point.get("learning_rate", 0.0)),
                    at=ctx.now(),
                )
            )
        if points:
            ctx.session.execute(
                update(TrainingJob)
                .where(col(TrainingJob.id) == job.id)
                .values(progress=points[-1])
                .execution_options(synchronize_session=False)
            )
        self._save(heartbeat_at=ctx.now(), timings=self.timings)
        if self.progress is not None:
            for point in points:
                self.progress(point)
        return self._cancel_flag()

    def _cancel_flag(self) -> str | None:
        row = self.ctx.session.execute(
            select(col(TrainingJob.cancel_requested), col(TrainingJob.cancel_requested_by)).where(
                col(TrainingJob.id) == self.job.id
            )
        ).first()
        self.ctx.session.commit()
        if row is not None and row[0]:
            return row[1] or "someone"
        return None

    def _conclude(
        self, result: dict[str, Any] | None, cancelled_by: str | None, steps: int
    ) -> TrainingJob:
        ctx, job = self.ctx, self.job
        status = (result or {}).get("status")
        if cancelled_by is not None or status == "cancelled":
            who = cancelled_by or "the instance"
            self._save(phase="done")
            ctx.session.refresh(job)
            if job.status == "running":
                training._finish(
                    ctx,
                    job,
                    "cancelled",
                    error=f"cancelled by {who} at step {steps}",
                    metrics=(result or {}).get("metrics") or {},
                )
            raise Conflict(f"training job {job.id} was cancelled by {who} at step {steps}")
        if result is None:
            tail = self._log_tail()
            raise ExternalServiceError(
                f"the training process on the instance ended without a result ({tail})"
            )
        if status != "succeeded":
            error_class = _ERRORS.get(str(result.get("type")), ExternalServiceError)
            raise error_class(f"on the instance: {result.get('error') or 'no message'}")
        return self._fetch_and_register(result)

    def _fetch_and_register(self, result: dict[str, Any]) -> TrainingJob:
        ctx, job, run = self.ctx, self.job, self.run
        assert self.sess is not None
        self._save(phase="fetching")
        t0 = time.perf_counter()
        out_dir = storage.job_output_dir(ctx, job.id)  # below the tenant's data root
        expected = result.get("files")
        if not isinstance(expected, dict):
            raise ExternalServiceError("the instance reported no adapter checksums")
        with tempfile.TemporaryDirectory(prefix="se-fetch-") as tmp:
            archive = self.sess.fetch_tar(
                f"{run.workdir}/adapter", Path(tmp) / "adapter.tar", timeout=SHIP_TIMEOUT_S
            )
            self.timings["fetched_bytes"] = archive.stat().st_size
            ship.unpack_adapter(archive, out_dir, {str(k): str(v) for k, v in expected.items()})
        self._timed("fetch_s", t0)
        base = ctx.session.get(ModelVersion, job.base_model_id)
        if base is None:
            raise NotFound("base model version is gone")
        ds, template = _dataset_and_template(ctx, job)
        training._refuse_unless_running(ctx, job)
        from shifty_ent.model import finetune

        hp = finetune.Hyperparameters.from_dict(job.hyperparameters)
        metrics = dict(result.get("metrics") or {})
        metrics["adapter_sha256"] = dict(expected)
        remote = _Remote(metrics)
        version = training._register_output(ctx, job, base, ds, template, out_dir, hp, remote)
        self._save(phase="done", timings=self.timings)
        training._succeed(ctx, job, version, out_dir, remote.metrics())
        return job

    # --------------------------------------------------------- helpers

    def _log_tail(self) -> str:
        try:
            assert self.sess is not None
            done = self.sess.run(
                f"tail -n 5 {shell_quote(self.run.workdir or '')}/worker.log",
                timeout=30,
                check=False,
            )
        except SshError:
            return "its log could not be read"
        lines = [ln for ln in done.stdout.decode("utf-8", "replace").splitlines() if ln.strip()]
        return f"last log line: {lines[-1].strip()[:300]}" if lines else "its log is empty"

    def _quiet(self, action: Callable[[Session], Any]) -> None:
        if self.sess is None:
            return
        with contextlib.suppress(SshError):
            action(self.sess)

    def _kill_quietly(self) -> None:
        if self.run.remote_pid:
            self._quiet(lambda s: s.run(_kill_command(self.run), timeout=15, check=False))


_ERRORS: dict[str, type[ShiftyError]] = {
    "invalid_input": errors.InvalidInput,
    "not_found": errors.NotFound,
    "refused": errors.Refused,
    "conflict": errors.Conflict,
    "external_service": errors.ExternalServiceError,
}


def _base_spec(ctx: Context, base: ModelVersion) -> dict[str, Any]:
    if base.source == "custom":
        return {"kind": "shipped"}
    return {
        "kind": "huggingface",
        "repo_id": base.source_id,
        "revision": base.pinned_revision,
        "endpoint": ctx.settings.hf_endpoint,
    }


def _session(run: RemoteRun) -> Session:
    if not (run.ssh_host and run.ssh_port and run.ssh_user):
        raise Conflict("the run has no SSH address yet")
    return Session(Target(run.ssh_user, run.ssh_host, run.ssh_port), host_key=run.host_key)


def _alive_test(pid: int) -> str:
    """Shell: ``a`` is yes while ``pid`` runs (a zombie, never reaped in a container, is not)."""
    return (
        f"s=$(cut -d' ' -f3 /proc/{pid}/stat 2>/dev/null); "
        'if [ -n "$s" ] && [ "$s" != Z ]; then a=yes; '
        f"elif [ ! -d /proc/1 ] && kill -0 {pid} 2>/dev/null; then a=yes; else a=no; fi"
    )


def _poll_command(run: RemoteRun, offset: int) -> str:
    """One round trip: alive?, the result when there is one, progress bytes after ``offset``
    (liveness first: a process that ended has written all its lines and its result)."""
    q = shell_quote(run.workdir or "")
    return (
        f"cd {q} || exit 3; {_alive_test(int(run.remote_pid or 0))}; "
        "[ -f exit_code ] && a=no; "
        'printf "alive=%s\\n" "$a"; '
        "if [ -f result.json ]; then printf result=; tr -d '\\n' < result.json; fi; "
        "printf '\\n'; "
        f"tail -c +{offset + 1} progress.jsonl 2>/dev/null; true"
    )


def _parse_poll(out: bytes) -> tuple[bool, dict[str, Any] | None, bytes]:
    start = out.find(b"alive=")  # whatever a login script printed before our answer is skipped
    first, _, rest = out[max(start, 0) :].partition(b"\n")
    second, _, chunk = rest.partition(b"\n")
    alive = first.strip() == b"alive=yes"
    result = None
    text = second.decode("utf-8", "replace")
    if text.startswith("result="):
        try:
            parsed = json.loads(text[len("result=") :])
        except json.JSONDecodeError:
            parsed = None
        result = parsed if isinstance(parsed, dict) else None
    return alive, result, chunk


def _kill_command(run: RemoteRun) -> str:
    """Ask the worker to stop, then kill its process group (``setsid`` made it a leader)."""
    q = shell_quote(run.workdir or "")
    pid = int(run.remote_pid or 0)
    kill = (
        f"kill -TERM -{pid} 2>/dev/null || kill -TERM {pid} 2>/dev/null; "
        f"[ -f worker.pid ] && kill -TERM $(cat worker.pid) 2>/dev/null; "
        if pid
        else ""
    )
    return f"cd {q} && touch cancel; {kill}true"


def _terminate_rented(ctx: Context, job: TrainingJob, run: RemoteRun) -> None:
    """Terminate the instance the job rented (idempotent; a reused one is left alone)."""
    if not run.rented or run.instance_id is None:
        return
    inst = gpu_api.get_instance(ctx, str(run.instance_id))
    if inst.gone:
        return
    gpu_api.terminate(ctx, run.instance_id, reason=f"training job {str(job.id)[:8]} ended")


__all__ = ["DEFAULT_POLL_S", "Placement", "attach", "cancel", "start"]


def _dataset_and_template(ctx: Context, job: TrainingJob) -> tuple[examples.DatasetFile, str]:
    """The job's dataset as the local run reads it, and the prompt template it trains with
    (the dataset contract: both paths learn the same examples)."""
    ds = examples.open_dataset(ctx, str(job.dataset_id))
    template = job.hyperparameters.get("prompt_template") or arcade_api.DEFAULT_TEMPLATE
    return ds, template
