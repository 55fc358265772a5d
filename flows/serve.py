"""`sendflow serve`: the local production mode in one command.

A Prefect server (the one at PREFECT_API_URL, or one started here on 127.0.0.1), every deployment in
prefect.yaml served with its schedules and triggers (in a child process, so it can be stopped on its
own), the landing watcher, and a read-only file server of the home's published folders (Data Docs, gold,
reports) that the run records link. Each load's outcome is printed as the ledger records it. Word of the
service is left in the home (core/serving.py) for hand-run commands to find. Ctrl-C or SIGTERM stops the
watcher, then the serving process, then the server, in that order: a served flow must not lose its API
while it is finishing.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from sendflow.core.serving import RunningService, announce_service, left_running, running_service, withdraw_service
from sendflow.core.settings import Settings
from sendflow.flows.deployments import PROJECT_DIR, deployment_specs
from sendflow.loading.landed import LedgerFollower
from sendflow.warehouse.ledger import now
from sendflow.web.files import FileServer, start_file_server

STARTUP_TIMEOUT_SECONDS = 120.0


class ServeError(RuntimeError):
    pass


@dataclass
class Service:
    settings: Settings
    report: Callable[[str], None] = print
    server: subprocess.Popen[bytes] | None = None
    serving: subprocess.Popen[bytes] | None = None
    watcher: threading.Thread | None = None
    stop_watching: threading.Event = field(default_factory=threading.Event)
    files: FileServer | None = None

    def start(self) -> None:
        already = running_service(self.settings.home)
        if already is not None:
            raise ServeError(
                f"a sendflow serve of {self.settings.home} is already running (pid {already.pid}, Prefect API "
                f"{already.api_url}); stop it first, or give this one another SENDFLOW_HOME"
            )
        orphans = left_running(self.settings.home)
        for pid in orphans:
            _stop_group(pid)
            self.report(f"stopped process {pid}, left running by a sendflow serve of this home that was killed")
        self.files = start_file_server(self.settings)
        os.environ["SENDFLOW_FILES_URL"] = self.files.url  # run records link these URLs, in every child too
        self.report(f"serving Data Docs, gold Parquet and trust reports at {self.files.url} (read-only)")
        api_url = os.environ.get("PREFECT_API_URL")
        if api_url:
            self.report(f"using the Prefect server at {api_url}")
        else:
            api_url = self._start_server()
            os.environ["PREFECT_API_URL"] = api_url
        _wait_for_health(api_url, self.server)
        if self.server is not None or orphans:  # the runs in this API that were this home's service's
            said = settle_runs_left_behind()
            if said:
                self.report(said)
        from sendflow.flows.ingest import ensure_publish_limits

        ensure_publish_limits()
        self._start_serving()
        self._wait_for_deployments()
        self._start_watcher()
        children = tuple(process.pid for process in (self.server, self.serving) if process is not None)
        announce_service(
            self.settings.home, RunningService(os.getpid(), api_url, self.files.url, now().isoformat(), children)
        )

    def _start_server(self) -> str:
        port = self.settings.serve_port or _free_port()
        log = open(self.settings.home / "prefect-server.log", "ab")  # noqa: SIM115 - closed with the process
        self.server = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            stdout=log, stderr=subprocess.STDOUT, env=_child_environment(self.settings), start_new_session=True,
        )  # fmt: skip
        api_url = f"http://127.0.0.1:{port}/api"
        self.report(f"started a Prefect server at {api_url} (log: {log.name}; UI at http://127.0.0.1:{port})")
        return api_url

    def _start_serving(self) -> None:
        log = open(self.settings.home / "prefect-serve.log", "ab")  # noqa: SIM115 - closed with the process
        environment = _child_environment(self.settings)
        environment.setdefault("PREFECT_RUNNER_POLL_FREQUENCY", "2")
        # The served runs' own log lines (each file's outcome) belong in the serving log, not only in the UI.
        environment["PREFECT_LOGGING_LEVEL"] = "INFO"
        self.serving = subprocess.Popen(
            [sys.executable, "-m", "sendflow.flows.serve"], cwd=PROJECT_DIR, stdout=log, stderr=subprocess.STDOUT,
            env=environment, start_new_session=True,
        )  # fmt: skip
        self.report(f"serving the deployments of {PROJECT_DIR / 'prefect.yaml'} (log: {log.name})")

    def _wait_for_deployments(self) -> None:
        """Triggers must be registered before the first file is announced, or its event would go unheard."""
        from prefect.client.orchestration import get_client

        wanted = {spec.name for spec in deployment_specs()}
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        with get_client(sync_client=True) as client:
            while time.monotonic() < deadline:
                if self.serving and self.serving.poll() is not None:
                    raise ServeError(f"the serving process exited with {self.serving.returncode}; see its log")
                names = {d.name for d in client.read_deployments()}
                automations = {a.name for a in client.read_automations()}
                triggers = {f"{s.name}__trigger_{n}" for s in deployment_specs() for n in range(1, len(s.triggers) + 1)}
                if wanted <= names and triggers <= automations:
                    self.report(f"{len(wanted)} deployments and {len(triggers)} event triggers are live")
                    return
                time.sleep(0.5)
        raise ServeError(f"deployments were not registered within {STARTUP_TIMEOUT_SECONDS:.0f} s")

    def _start_watcher(self) -> None:
        from sendflow.flows.watch import announce, watch

        self.watcher = threading.Thread(
            target=watch, args=(self.settings, announce, self.stop_watching), kwargs={"report": self.report},
            name="sendflow-watch", daemon=True,
        )  # fmt: skip
        self.watcher.start()

    def stop(self) -> None:
        withdraw_service(self.settings.home, os.getpid())
        self.stop_watching.set()
        if self.watcher:
            self.watcher.join(timeout=30)
            self.report("stopped the watcher")
        if self.serving:
            _stop_process(self.serving, "the serving process", self.report)
        if self.server:
            _stop_process(self.server, "the Prefect server", self.report)
        if self.files:
            self.files.close()


def run_service(settings: Settings) -> int:
    """Until Ctrl-C or SIGTERM."""
    settings.home.mkdir(parents=True, exist_ok=True)
    stopping = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stopping.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    service = Service(settings, report=lambda line: print(line, flush=True))
    outcomes = LedgerFollower(settings)
    outcomes.start()
    try:
        service.start()
        print("sendflow is serving; Ctrl-C stops it", flush=True)
        while not stopping.wait(1.0):
            for line in outcomes.news():
                print(line, flush=True)
            for process, what in ((service.server, "the Prefect server"), (service.serving, "the serving process")):
                if process is not None and process.poll() is not None:
                    print(f"{what} exited with {process.returncode}; stopping", flush=True)
                    stopping.set()
    except ServeError as error:
        print(f"sendflow serve: {error}", file=sys.stderr, flush=True)
        return 1
    finally:
        service.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("sendflow serve stopped", flush=True)
    return 0


def _child_environment(settings: Settings) -> dict[str, str]:
    environment = dict(os.environ)
    environment.setdefault("PREFECT_HOME", str(settings.prefect_home))
    environment["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    environment["PYTHONUNBUFFERED"] = "1"  # a log file is block-buffered otherwise: empty until a run ends
    environment["SENDFLOW_HOME"] = str(settings.home)
    environment.setdefault("SENDFLOW_PROJECT_DIR", str(PROJECT_DIR))
    return environment


def settle_runs_left_behind() -> str | None:
    """Runs of sendflow's deployments that an earlier service left without a runner (it was killed, or
    stopped while an event was still being heard). A run that was started is marked crashed: its process is
    gone. A run triggered by an announced file that never started is cancelled, not left for the new runner:
    the watcher takes its file over from processing/, and two offers of one file would record a duplicate.
    Scheduled pulls are left to run late, as Prefect runs any late run."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterName,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.states import Cancelled, Crashed

    specs = deployment_specs()
    triggered = {spec.name for spec in specs if spec.triggers}
    unfinished = FlowRunFilter(
        state=FlowRunFilterState(
            type=FlowRunFilterStateType(any_=[StateType.SCHEDULED, StateType.PENDING, StateType.RUNNING])
        )
    )
    crashed = cancelled = 0
    with get_client(sync_client=True) as client:
        triggered_ids = {d.id for d in client.read_deployments() if d.name in triggered}
        ours = DeploymentFilter(name=DeploymentFilterName(any_=[spec.name for spec in specs]))
        for run in client.read_flow_runs(flow_run_filter=unfinished, deployment_filter=ours):
            if run.state_type is StateType.SCHEDULED:
                if run.deployment_id not in triggered_ids:
                    continue
                client.set_flow_run_state(
                    run.id, Cancelled(message="announced to a sendflow serve that was stopped before it ran; the "
                                      "watcher takes its file over from processing/"), force=True,
                )  # fmt: skip
                cancelled += 1
            else:
                client.set_flow_run_state(
                    run.id, Crashed(message="its sendflow serve was stopped or killed while it ran"), force=True
                )
                crashed += 1
    if not crashed and not cancelled:
        return None
    return (
        f"settled the runs an earlier service left: {cancelled} announced but never started (cancelled; their "
        f"files are taken over from processing/), {crashed} left running (marked crashed)"
    )


def _wait_for_health(api_url: str, server: subprocess.Popen[bytes] | None) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if server is not None and server.poll() is not None:
            raise ServeError(f"the Prefect server exited with {server.returncode} while starting; see its log")
        try:
            if httpx.get(f"{api_url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise ServeError(f"no Prefect API answered at {api_url} within {STARTUP_TIMEOUT_SECONDS:.0f} s")


def _stop_process(process: subprocess.Popen[bytes], what: str, report: Callable[[str], None]) -> None:
    """SIGINT first (both Prefect processes shut down cleanly on it), then SIGTERM, then SIGKILL."""
    for sig, grace in ((signal.SIGINT, 30), (signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        if process.poll() is not None:
            break
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            continue
    report(f"stopped {what} (exit {process.returncode})")


def _stop_group(pid: int) -> None:
    """A process group (each child leads its own), SIGTERM then SIGKILL: it is not ours to wait on."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.killpg(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.2)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _serve_deployments() -> None:
    from prefect import serve

    from sendflow.flows.deployments import runner_deployments

    serve(*runner_deployments(deployment_specs()), print_starting_message=False)


if __name__ == "__main__":
    _serve_deployments()
    sys.exit(0)
