"""``callproc bench``: N simultaneous scripted calls against the service, measured as ops would.

Three kinds of process, so that each one's CPU is its own: the local stand-ins
(``python -m sandbox``: Google STT/TTS, Anthropic, the reference store), the service
(``callproc serve`` with its workers, started afresh for each step) and this one, which places
the calls with the simulated caller and measures. PostgreSQL and Redis are the embedded ones,
started here in a data folder of the run's own and shared with the service.

For each number of calls N it places N calls at once (the shipped scenarios, cycled; or, with
``--pipeline echo``, calls that speak and listen for ``--secs`` seconds) and reports: calls
offered / accepted / refused / completed / failed by outcome; voice-to-voice and our overhead
(from the service's own call records in PostgreSQL); the audio the STT stand-in received per
second of stream; output pacing as the callers heard it; the service's event-loop lag; the
service's CPU per active call and memory per call; and the machine's load meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import socket
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import psutil
from prometheus_client.parser import text_string_to_metric_families

from bot.overhead import OVERHEAD_STAGES, InjectedDelays, overhead_by_stage
from bot.review import STAGE_LABELS
from bot.settings import Settings
from bot.stand_in_process import StandIns, stand_in_env, terminate
from bot.storage.database import Database
from bot.storage.embedded import EmbeddedRedis
from bot.storage.records import LATENCY_STAGES
from bot.storage.runtime import open_postgres
from observability.loop_lag import LoopLag
from observability.metrics import cpu_seconds, resident_bytes
from sandbox import speech
from sandbox.caller import (
    AUDIBLE_GAP_MS,
    FRAME_SECS,
    CallResult,
    CallScript,
    place_call,
    played_starts,
    run_call,
)
from sandbox.scenario import Scenario, ScenarioPlayer, load_scenarios

BURST_AFTER_SECS = 5.0  # the step's calls are well into their conversations by then
BURST_WATCH_SECS = 3.0  # after the last arrival, start-up work may still be going on
CALL_LIMIT_SECS = 240.0  # a scripted call that has not ended by then has hung
READY_TIMEOUT_SECS = 120.0
PROGRESS_EVERY_SECS = 5.0
STAGE_BREAKDOWN = (
    "end_of_turn_ms", "stt_final_ms", "llm_first_token_ms", "tts_first_audio_ms", "send_ms",
)  # fmt: skip
ECHO_DELIVERED_MIN = 0.98  # an echo call that got fewer of its frames than this failed
ECHO_STOPPED_SECS = 0.5  # ... as did one whose audio stopped this long before it hung up
# Credentials and servers of the developer's own setup never reach a bench run.
_NOT_PASSED = (
    "GOOGLE_APPLICATION_CREDENTIALS",
    "ANTHROPIC_API_KEY",
    "DATABASE_URL",
    "REDIS_URL",
    "CALLPROC_GOOGLE_CREDENTIALS",
    "CALLPROC_ANTHROPIC_API_KEY",
    "CALLPROC_DATABASE_URL",
    "CALLPROC_REDIS_URL",
    "PROMETHEUS_MULTIPROC_DIR",
)


@dataclass
class Spread:
    """p50 / p95 / max of a set of figures (None when there were none)."""

    count: int = 0
    p50: float | None = None
    p95: float | None = None
    max: float | None = None

    @classmethod
    def of(cls, values: list[float]) -> Spread:
        """The spread of ``values``."""
        if not values:
            return cls()
        data = np.asarray(values, dtype=float)
        return cls(
            count=len(values),
            p50=round(float(np.percentile(data, 50)), 1),
            p95=round(float(np.percentile(data, 95)), 1),
            max=round(float(data.max()), 1),
        )

    def text(self, unit: str = "ms") -> str:
        """``p50 / p95 / max`` for a person."""
        if self.count == 0:
            return "-"
        return f"{self.p50:.0f} / {self.p95:.0f} / {self.max:.0f} {unit}"


@dataclass
class StepReport:
    """Everything measured with N calls placed at once."""

    calls: int
    pipeline: str
    workers: int | None
    offered: int = 0
    accepted: int = 0
    refused: int = 0
    completed: int = 0
    failed: dict[str, int] = field(default_factory=dict)
    voice_to_voice_ms: Spread = field(default_factory=Spread)
    overhead_ms: Spread = field(default_factory=Spread)
    stages: dict[str, Spread] = field(default_factory=dict)  # voice-to-voice, stage by stage
    overhead_stages: dict[str, Spread] = field(default_factory=dict)  # ours, stage by stage
    stt_audio_per_sec: float | None = None
    frames_delivered_min: float | None = None
    worst_gap_ms: float | None = None  # as played (sandbox.caller.played_starts)
    gaps_over_limit: int = 0
    arrival_gap_ms: float | None = None  # between arrivals: the sender's lead shows here
    most_ahead_ms: float | None = None
    burst: int = 0
    burst_worst_gap_ms: float | None = None
    service_stalls: int | None = None
    loop_lag_p99_ms: float | None = None
    caller_loop_lag_max_ms: float | None = None
    stand_ins_cpu_pct: float | None = None  # the harness: if a core's worth, it is the limit
    callers_cpu_pct: float | None = None
    service_cpu_pct: float | None = None
    cpu_pct_per_call: float | None = None
    rss_mb_per_call: float | None = None
    rss_mb_idle: float | None = None
    machine_busy_pct: float | None = None
    machine_stolen_pct: float | None = None
    load_before: tuple[float, float, float] | None = None
    load_after: tuple[float, float, float] | None = None
    wall_secs: float = 0.0
    service_log: str = ""
    failed_calls: list[dict[str, Any]] = field(default_factory=list)  # what each one heard

    def lines(self) -> list[str]:
        """The report for a person."""
        failed = ", ".join(f"{k} {v}" for k, v in sorted(self.failed.items())) or "none"
        out = [
            f"{self.calls} calls ({self.pipeline}, workers {self.workers or 'default'}), "
            f"{self.wall_secs:.0f} s",
            f"  calls: offered {self.offered}, accepted {self.accepted}, refused "
            f"{self.refused}, completed {self.completed}, failed {sum(self.failed.values())} "
            f"({failed})",
        ]
        if self.failed_calls:
            folder = Path(self.failed_calls[0]["recording"]).parent
            out.append(f"  failed calls: recordings in {folder}/, timelines in --json")
        if self.pipeline == "voice":
            out += [
                f"  voice-to-voice p50/p95/max: {self.voice_to_voice_ms.text()} "
                f"({self.voice_to_voice_ms.count} answers)",
                f"  our overhead p50/p95/max:   {self.overhead_ms.text()}; by stage p50/p95: "
                + ", ".join(f"{k} {_pair(v)}" for k, v in self.overhead_stages.items() if v.count),
                "  by stage p50/p95/max: "
                + "; ".join(
                    f"{STAGE_LABELS[k]} {v.text()}" for k, v in self.stages.items() if v.count
                ),
                f"  STT audio fed: {_num(self.stt_audio_per_sec, '.2f')} s per second of stream",
            ]
        else:
            out.append(
                f"  frames delivered: worst call {_num(self.frames_delivered_min, '.1%')} of "
                "those due from its first frame to its last"
            )
        out += [
            f"  output pacing: worst gap {_num(self.worst_gap_ms, '.0f')} ms as played "
            f"(between arrivals {_num(self.arrival_gap_ms, '.0f')} ms), gaps over "
            f"{AUDIBLE_GAP_MS:.0f} ms: {self.gaps_over_limit}, audio ahead at most "
            f"{_num(self.most_ahead_ms, '.0f')} ms, sender stalls "
            f"{_num(self.service_stalls, 'd')}",
            *(
                [
                    f"  calls already talking while {self.burst} more arrived within 1 s: "
                    f"worst gap {_num(self.burst_worst_gap_ms, '.0f')} ms"
                ]
                if self.burst
                else []
            ),
            f"  event-loop lag p99: {_num(self.loop_lag_p99_ms, '.1f')} ms (callers' own loop: "
            f"max {_num(self.caller_loop_lag_max_ms, '.0f')} ms)",
            f"  harness CPU: stand-ins {_num(self.stand_ins_cpu_pct, '.0f')} % of a core, callers "
            f"{_num(self.callers_cpu_pct, '.0f')} %",
            f"  service CPU: {_num(self.service_cpu_pct, '.0f')} % of a core, "
            f"{_num(self.cpu_pct_per_call, '.2f')} % per active call; RSS "
            f"{_num(self.rss_mb_idle, '.0f')} MB idle + {_num(self.rss_mb_per_call, '.1f')} MB "
            "per call",
            f"  machine: {_num(self.machine_busy_pct, '.0f')} % busy, "
            f"{_num(self.machine_stolen_pct, '.1f')} % stolen by the host, load "
            f"{_load(self.load_before)} -> {_load(self.load_after)}",
        ]
        return out


def _num(value: float | int | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def _load(load: tuple[float, float, float] | None) -> str:
    return "-" if load is None else " ".join(f"{x:.2f}" for x in load)


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServiceProcess:
    """``callproc serve`` in a process of its own, on free local ports."""

    def __init__(self, env: dict[str, str], args: list[str], log_path: Path) -> None:
        self.env = env
        self.args = args
        self.log_path = log_path
        self.audiosocket_port = int(env["CALLPROC_AUDIOSOCKET__PORT"])
        self.http = f"http://127.0.0.1:{env['CALLPROC_HTTP__PORT']}"
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        """Start it and wait until it says it is ready for calls."""
        with self.log_path.open("wb") as log:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot.cli", "serve", *self.args,
                env=self.env, stdout=log, stderr=asyncio.subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + READY_TIMEOUT_SECS
        async with aiohttp.ClientSession() as session:
            while True:
                if self.proc.returncode is not None:
                    raise RuntimeError(
                        f"the service exited with {self.proc.returncode}; see {self.log_path}"
                    )
                with contextlib.suppress(aiohttp.ClientError):
                    async with session.get(f"{self.http}/health/ready") as response:
                        if response.status == 200:
                            return
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the service was not ready in time; see {self.log_path}")
                await asyncio.sleep(0.2)

    def processes(self) -> list[psutil.Process]:
        """The service's processes (the server and its workers)."""
        if self.proc is None:
            return []
        try:
            main = psutil.Process(self.proc.pid)
            return [main, *main.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def cpu_secs(self) -> float:
        """CPU time used so far by the service's processes (user + system)."""
        return cpu_seconds(self.processes())

    def rss_bytes(self) -> int:
        """Resident memory of the service's processes."""
        return resident_bytes(self.processes())

    async def scrape(self) -> str:
        """The text of ``/metrics``."""
        url = f"{self.http}/metrics"
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            return await response.text()

    async def stop(self) -> None:
        """SIGTERM (a drain) and wait for it to exit."""
        await terminate(self.proc, 60)


def histogram_delta(before: str, after: str, name: str) -> list[tuple[float, float]]:
    """Cumulative ``(upper bound, count)`` buckets of histogram ``name`` added between scrapes."""

    def buckets(text: str) -> dict[float, float]:
        found: dict[float, float] = {}
        for family in text_string_to_metric_families(text):
            if family.name != name:
                continue
            for sample in family.samples:
                if sample.name == f"{name}_bucket":
                    bound = float(sample.labels["le"])
                    found[bound] = found.get(bound, 0.0) + sample.value
        return found

    old, new = buckets(before), buckets(after)
    return sorted((bound, count - old.get(bound, 0.0)) for bound, count in new.items())


def counter_delta(before: str, after: str, name: str) -> float:
    """How much counter ``name`` (summed over its labels) grew between scrapes."""

    def total(text: str) -> float:
        return sum(
            sample.value
            for family in text_string_to_metric_families(text)
            if family.name == name
            for sample in family.samples
            if sample.name == f"{name}_total"
        )

    return total(after) - total(before)


def quantile(buckets: list[tuple[float, float]], q: float) -> float | None:
    """``histogram_quantile`` of cumulative buckets (linear within the bucket it falls in)."""
    if not buckets or buckets[-1][1] <= 0:
        return None
    rank = q * buckets[-1][1]
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if bound == float("inf"):
                return lower_bound
            share = (rank - lower_count) / (count - lower_count) if count > lower_count else 1
            return lower_bound + (bound - lower_bound) * share
        lower_bound, lower_count = bound, count
    return lower_bound


def machine_cpu() -> tuple[float, float, float]:
    """``(busy, total, stolen)`` jiffies of the whole machine so far.

    Stolen time is CPU the hypervisor gave to someone else: on a shared virtual machine it
    shows when a slow step was the host's doing, not the service's.
    """
    with open("/proc/stat", encoding="ascii") as f:
        fields = [float(x) for x in f.readline().split()[1:]]
    idle, steal = fields[3] + fields[4], fields[7]
    return sum(fields) - idle - steal, sum(fields), steal


@dataclass
class PlacedCall:
    """One call the bench placed and what came of it."""

    call_id: uuid.UUID
    scenario: Scenario | None
    result: CallResult | None = None
    error: str | None = None
    player: ScenarioPlayer | None = None

    @property
    def refused(self) -> bool:
        """Hung up at once without a single audio frame: refused at admission."""
        r = self.result
        return r is not None and r.ended_by == "server_hangup" and not r.arrivals

    @property
    def seconds(self) -> float:
        """How long the call was connected."""
        r = self.result
        return 0.0 if r is None else max(0.0, r.ended_at - r.connected_at)


class Bench:
    """Runs the steps and keeps the processes they share.

    Args:
        settings: The settings the service would run with (turn timing for the overhead).
        pipeline: ``voice`` or ``echo``.
        workers: Worker processes for ``callproc serve --workers`` (None: its default).
        max_calls: The service's call cap (None: its default).
        echo_secs: Length of each echo call.
        scenarios: Scenario names to cycle (None: every shipped one).
        folder: Where the run keeps its data (PostgreSQL, Redis).
        logs: Where the service's and the stand-ins' logs go.
        burst: Calls that arrive within one second once the step's calls are talking.
        say: Where progress goes.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        pipeline: str,
        workers: int | None,
        max_calls: int | None,
        echo_secs: float,
        scenarios: list[str] | None,
        folder: Path,
        logs: Path,
        burst: int = 0,
        say: Callable[[str], None] = print,
    ) -> None:
        self.logs = logs
        self.burst = burst
        self.burst_window = (0.0, 0.0)
        self.steps_run = 0
        self.settings = settings
        self.pipeline = pipeline
        self.workers = workers
        self.max_calls = max_calls
        self.echo_secs = echo_secs
        self.folder = folder
        self.say = say
        known = load_scenarios()
        unknown = set(scenarios or ()) - set(known)
        if unknown:
            raise ValueError(f"unknown scenario(s): {', '.join(sorted(unknown))}")
        self.scenarios = [known[n] for n in scenarios] if scenarios else list(known.values())
        self.stand_ins: StandIns | None = None
        self._postgres: Any = None
        self._redis: EmbeddedRedis | None = None
        self._database: Database | None = None

    async def __aenter__(self) -> Bench:
        data = self.folder / "data"
        self.say(f"starting PostgreSQL and Redis in {data} ...")
        storage_settings = self.settings.model_copy(update={"data_dir": data, "database_url": None})
        self._postgres = await open_postgres(storage_settings)
        self._redis = EmbeddedRedis(data)
        await self._redis.start()
        self._database = Database(self._postgres.app_dsn)
        if self.pipeline == "voice":
            self.say("starting the stand-ins in a process of their own ...")
            self.stand_ins = StandIns(self.logs / "stand-ins.log")
            await self.stand_ins.start()
            # Synthesize every caller line now: espeak on the callers' loop mid-step would
            # hold up their 20 ms frames (and garble the tone codes the STT stand-in reads).
            await asyncio.to_thread(self._say_every_line_once)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.stand_ins is not None:
            await self.stand_ins.stop()
        if self._database is not None:
            await self._database.close()
        if self._redis is not None:
            await self._redis.stop()
        if self._postgres is not None:
            await self._postgres.close()

    def _say_every_line_once(self) -> None:
        codes = self.stand_ins.info["codes"] if self.stand_ins else {}
        for scenario in self.scenarios:
            player = ScenarioPlayer(scenario, codes)
            for line in scenario.lines:
                player.utterance(line, 8000)

    def service_env(self) -> dict[str, str]:
        """The environment the service runs with: the caller's, minus credentials, plus ours."""
        env = {k: v for k, v in os.environ.items() if k not in _NOT_PASSED}
        env.update(
            {
                "CALLPROC_PIPELINE": self.pipeline,
                "CALLPROC_DATA_DIR": str(self.folder / "data"),
                "CALLPROC_AUDIOSOCKET__HOST": "127.0.0.1",
                "CALLPROC_AUDIOSOCKET__PORT": str(free_port()),
                "CALLPROC_HTTP__HOST": "127.0.0.1",
                "CALLPROC_HTTP__PORT": str(free_port()),
                "CALLPROC_DRAIN_SECS": "5",
                "CALLPROC_LOG_LEVEL": "INFO",
                "CALLPROC_LOG_FORMAT": "json",
            }
        )
        if self.max_calls is not None:
            env["CALLPROC_AUDIOSOCKET__MAX_CALLS"] = str(self.max_calls)
        if self.stand_ins is not None:
            env.update(stand_in_env(self.stand_ins.info))
        return env

    async def step(self, calls: int) -> StepReport:
        """Place ``calls`` calls at once against a freshly started service; measure."""
        report = StepReport(calls=calls, pipeline=self.pipeline, workers=self.workers)
        self.steps_run += 1
        log_path = self.logs / f"service-{self.steps_run}-{self.pipeline}-{calls}.log"
        report.service_log = str(log_path)
        args = [] if self.workers is None else ["--workers", str(self.workers)]
        env = self.service_env()
        # The step's calls all come from one address at once, as from one Asterisk: the
        # service lets that many wait for their handshake (or refuses them as one peer's).
        waiting = max(self.settings.audiosocket.max_waiting_per_peer, calls + self.burst)
        env["CALLPROC_AUDIOSOCKET__MAX_WAITING_PER_PEER"] = str(waiting)
        service = ServiceProcess(env, args, log_path)
        self.say(f"\n{calls} calls: starting the service ...")
        if self.stand_ins is not None:
            await self.stand_ins.reset()
        await service.start()
        try:
            await asyncio.sleep(1.0)  # let start-up work settle before the idle figures
            rss_idle = service.rss_bytes()
            cpu_before = service.cpu_secs()
            harness_before = self._harness_cpu()
            metrics_before = await service.scrape()
            machine_before = machine_cpu()
            report.load_before = os.getloadavg()
            placed, peak_rss, caller_lag, wall = await self._place_all(calls, service)
            cpu_after = service.cpu_secs()
            harness_after = self._harness_cpu()
            metrics_after = await service.scrape()
            machine_after = machine_cpu()
            report.load_after = os.getloadavg()
        finally:
            await service.stop()
        stt = await self.stand_ins.stt_stats() if self.stand_ins is not None else None

        report.wall_secs = wall
        report.offered = len(placed)
        report.refused = sum(1 for p in placed if p.refused)
        accepted = [p for p in placed if p.result is not None and not p.refused]
        report.accepted = len(accepted)
        call_secs = sum(p.seconds for p in accepted)
        cpu = cpu_after - cpu_before
        report.service_cpu_pct = round(100 * cpu / wall, 1) if wall else None
        report.cpu_pct_per_call = round(100 * cpu / call_secs, 2) if call_secs else None
        report.rss_mb_idle = round(rss_idle / 2**20, 1)
        if wall:
            stand_ins, callers = (b - a for a, b in zip(harness_before, harness_after, strict=True))
            report.stand_ins_cpu_pct = round(100 * stand_ins / wall, 1)
            report.callers_cpu_pct = round(100 * callers / wall, 1)
        if accepted:
            report.rss_mb_per_call = round((peak_rss - rss_idle) / 2**20 / len(accepted), 2)
        busy, total, stolen = (
            after - before for after, before in zip(machine_after, machine_before, strict=True)
        )
        report.machine_busy_pct = round(100 * busy / total, 1) if total else None
        report.machine_stolen_pct = round(100 * stolen / total, 1) if total else None
        lag = quantile(histogram_delta(metrics_before, metrics_after, _LAG), 0.99)
        report.loop_lag_p99_ms = None if lag is None else round(lag * 1000, 1)
        report.caller_loop_lag_max_ms = round(caller_lag * 1000, 1)
        report.service_stalls = int(
            counter_delta(metrics_before, metrics_after, "callproc_output_stalls")
        )
        self._pacing(report, accepted)
        if self.burst:
            report.burst = self.burst
            report.burst_worst_gap_ms = self._burst_gap(placed[:calls])
        if stt is not None:
            audio = sum(s["audio_secs"] for s in stt["streams"])
            opened = sum(s["open_secs"] for s in stt["streams"])
            report.stt_audio_per_sec = round(audio / opened, 3) if opened else None
        for p in placed:
            if p.error is not None:
                report.failed[p.error] = report.failed.get(p.error, 0) + 1
        if self.pipeline == "voice":
            await self._judge_voice(report, accepted)
        else:
            self._judge_echo(report, accepted)
        return report

    def _harness_cpu(self) -> tuple[float, float]:
        """CPU seconds used so far by the stand-ins and by this process (the callers)."""
        stand_ins = self.stand_ins.cpu_secs() if self.stand_ins is not None else 0.0
        return stand_ins, cpu_seconds([psutil.Process()])

    async def _place_all(
        self, calls: int, service: ServiceProcess
    ) -> tuple[list[PlacedCall], int, float, float]:
        placed = [
            PlacedCall(
                uuid.uuid4(),
                self.scenarios[i % len(self.scenarios)] if self.pipeline == "voice" else None,
            )
            for i in range(calls)
        ]
        echo_audio = b""
        if self.pipeline == "echo":
            # Talking the whole call: every echoed frame is speech, where a gap is heard.
            sentence = speech.synthesize("Добрий день, мені потрібні навушники.", rate=8000)
            echo_audio = sentence * math.ceil(self.echo_secs * 16000 / len(sentence))
        peak_rss = service.rss_bytes()
        own_lag = LoopLag(interval=0.02, window=CALL_LIMIT_SECS * 2)
        own_lag.start()
        started = time.monotonic()
        cpu_at_start = service.cpu_secs()
        tasks = [
            asyncio.create_task(self._one(p, service.audiosocket_port, echo_audio)) for p in placed
        ]
        if self.burst:
            tasks.append(asyncio.create_task(self._burst(placed, service, echo_audio)))
        next_note = started + PROGRESS_EVERY_SECS
        try:
            while not all(t.done() for t in tasks):
                await asyncio.wait(tasks, timeout=0.5)
                peak_rss = max(peak_rss, service.rss_bytes())
                if time.monotonic() >= next_note:
                    next_note += PROGRESS_EVERY_SECS
                    used = service.cpu_secs() - cpu_at_start
                    self.say(_progress(placed, time.monotonic() - started, used))
        finally:
            own_lag.stop()
        wall = time.monotonic() - started
        self.say(_progress(placed, wall, None))
        return placed, peak_rss, own_lag.recent(), wall

    async def _burst(
        self, placed: list[PlacedCall], service: ServiceProcess, echo_audio: bytes
    ) -> None:
        """Once the first calls are talking, ``burst`` more arrive within one second."""
        await asyncio.sleep(BURST_AFTER_SECS)
        self.burst_window = (time.monotonic(), 0.0)
        self.say(f"  {self.burst} more calls arriving within 1 s ...")
        extra = []
        for i in range(self.burst):
            call = PlacedCall(
                uuid.uuid4(),
                self.scenarios[i % len(self.scenarios)] if self.pipeline == "voice" else None,
            )
            placed.append(call)
            extra.append(asyncio.create_task(self._one(call, service.audiosocket_port, echo_audio)))
            await asyncio.sleep(1.0 / self.burst)
        self.burst_window = (self.burst_window[0], time.monotonic())
        await asyncio.gather(*extra)

    async def _one(self, placed: PlacedCall, port: int, echo_audio: bytes) -> None:
        try:
            async with asyncio.timeout(CALL_LIMIT_SECS):
                if placed.scenario is not None:
                    codes = self.stand_ins.info["codes"] if self.stand_ins else {}
                    placed.player = ScenarioPlayer(placed.scenario, codes)
                    placed.result = await run_call(
                        "127.0.0.1", port, placed.player, call_id=placed.call_id
                    )
                else:
                    script = CallScript(
                        audio=echo_audio, speech_at_secs=0.5, duration_secs=self.echo_secs
                    )
                    placed.result = await place_call(
                        "127.0.0.1", port, script, call_id=placed.call_id
                    )
        except TimeoutError:
            placed.error = "caller gave up (call hung)"
        except OSError as e:
            placed.error = f"connection failed ({type(e).__name__})"

    @staticmethod
    def _pacing(report: StepReport, accepted: list[PlacedCall]) -> None:
        heard = [p.result.stats for p in accepted if p.result is not None]
        heard = [s for s in heard if s.frames > 1]
        if heard:
            report.worst_gap_ms = round(max(s.played_gap_ms for s in heard), 1)
            report.arrival_gap_ms = round(max(s.max_gap_ms for s in heard), 1)
            ahead = max(s.max_burst_frames for s in heard) * FRAME_SECS * 1000
            report.most_ahead_ms = round(ahead, 1)
            report.gaps_over_limit = sum(s.audible_gaps for s in heard)

    def _burst_gap(self, talking: list[PlacedCall]) -> float | None:
        """The longest gap the calls already talking heard in speech while the burst arrived."""
        start, end = self.burst_window
        end += BURST_WATCH_SECS
        worst = None
        for p in talking:
            if p.result is None or p.refused:
                continue
            starts = played_starts(p.result.arrivals)
            counted = p.result.speech()[: len(starts)] & (starts >= start - 0.1) & (starts <= end)
            heard = counted[:-1] & counted[1:]
            if heard.any():
                gap = float(np.diff(starts)[heard].max() * 1000)
                worst = gap if worst is None else max(worst, gap)
        return None if worst is None else round(worst, 1)

    def _judge_echo(self, report: StepReport, accepted: list[PlacedCall]) -> None:
        ratios = []
        for p in accepted:
            assert p.result is not None
            arrivals = p.result.arrivals
            # Of the frames due from its first frame to its last: a slow start is not a loss.
            due = (arrivals[-1] - arrivals[0]) / FRAME_SECS + 1 if arrivals else 1.0
            delivered = len(arrivals) / due if arrivals else 0.0
            ratios.append(delivered)
            if p.result.ended_by != "caller":
                key = f"ended by {p.result.ended_by}"
            elif not arrivals or p.result.ended_at - arrivals[-1] > ECHO_STOPPED_SECS:
                key = "its audio stopped before the end"
            elif delivered < ECHO_DELIVERED_MIN:
                key = f"under {ECHO_DELIVERED_MIN:.0%} of its frames delivered"
            else:
                report.completed += 1
                continue
            report.failed[key] = report.failed.get(key, 0) + 1
        report.frames_delivered_min = round(min(ratios), 4) if ratios else None

    async def _judge_voice(self, report: StepReport, accepted: list[PlacedCall]) -> None:
        assert self._database is not None and self.stand_ins is not None
        knobs = self.stand_ins.info["knobs"]
        delays = InjectedDelays.of(self.settings, knobs["stt"], knobs["llm"], knobs["tts"])
        v2v: list[float] = []
        ours: list[float] = []
        stages: dict[str, list[float]] = {stage: [] for stage in STAGE_BREAKDOWN}
        ours_by_stage: dict[str, list[float]] = {stage: [] for stage in OVERHEAD_STAGES}
        for p in accepted:
            assert p.scenario is not None
            detail = await self._database.call_detail(p.call_id)
            if detail is None:
                report.failed["no record"] = report.failed.get("no record", 0) + 1
                continue
            turns, tools = _turns(detail)
            for turn in turns:
                if turn["voice_to_voice_ms"] is not None:
                    v2v.append(turn["voice_to_voice_ms"])
                for stage, figures in stages.items():
                    if turn.get(stage) is not None and turn["voice_to_voice_ms"] is not None:
                        figures.append(turn[stage])
                extra = overhead_by_stage(turn, delays, tools)
                if extra is not None:
                    ours.append(round(sum(extra.values()), 1))
                    for stage, figure in extra.items():
                        ours_by_stage[stage].append(figure)
            handoff = detail.get("handoff") or {}
            outcome, reason = detail.get("outcome"), detail.get("outcome_reason")
            met = p.scenario.expect.check(
                bot_text=" ".join(t["bot"] for t in turns),
                interrupted_turns=sum(1 for t in turns if t["interrupted"]),
                tool_names=[t["name"] for t in tools],
                orders_placed=sum(
                    1 for t in tools if t["name"] == "create_order" and t["status"] == "ordered"
                ),
                outcome=outcome,
                reason=reason or handoff.get("reason"),
            )
            failure_reason = reason in ("service_failure", "recognition_failures")
            if all(met.values()) and not failure_reason:
                report.completed += 1
            else:
                key = f"{outcome or 'no outcome'}" + (f" ({reason})" if reason else "")
                if not failure_reason and all(
                    v for k, v in met.items() if not k.startswith("outcome")
                ):
                    key = f"unexpected outcome {key}"
                elif not failure_reason:
                    key = f"{key}: unmet " + "; ".join(k for k, v in met.items() if not v)
                report.failed[key] = report.failed.get(key, 0) + 1
                report.failed_calls.append(self._failure(p, key, turns, tools))
        report.voice_to_voice_ms = Spread.of(v2v)
        report.overhead_ms = Spread.of(ours)
        report.stages = {stage: Spread.of(figures) for stage, figures in stages.items()}
        report.overhead_stages = {k: Spread.of(v) for k, v in ours_by_stage.items()}

    def _failure(
        self,
        placed: PlacedCall,
        why: str,
        turns: list[dict[str, Any]],
        tools: list[dict[str, Any]],
    ) -> dict[str, Any]:
        """A failed call's timeline, and its recording saved (caller left, bot right)."""
        result, scenario = placed.result, placed.scenario
        assert result is not None and scenario is not None
        wav = self.logs / "failed" / f"{placed.call_id}.wav"
        wav.parent.mkdir(parents=True, exist_ok=True)
        result.save_stereo_wav(wav)
        spoken = placed.player.spoken if placed.player is not None else []
        return {
            "call_uuid": str(placed.call_id),
            "scenario": scenario.name,
            "why": why,
            "recording": str(wav),
            "caller_lines": [
                {"text": s.text, "from": round(s.started, 2), "to": round(s.ended, 2)}
                for s in spoken
            ],
            "bot_audible": [(round(a, 2), round(b, 2)) for a, b in result.bot_speech_spans()],
            "turns": turns,
            "tools": [{"name": t["name"], "status": t["status"]} for t in tools],
        }


_LAG = "callproc_event_loop_lag_seconds"


def _turns(detail: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A stored call's answered turns and tool calls in the shape the demo reports them."""
    turns = []
    for row in detail["transcript"]:
        if row["role"] != "bot":
            continue
        turns.append(
            {
                "index": row["turn_index"],
                "bot": row["text"] or "",
                "interrupted": bool(row.get("interrupted")),
                **{stage: row.get(stage) for stage in LATENCY_STAGES},
            }
        )
    tools = [
        {
            "turn": row["turn_index"],
            "name": row["name"],
            "arguments": row.get("arguments") or {},
            "duration_ms": row.get("duration_ms"),
            "status": row.get("status"),
        }
        for row in detail["tool_calls"]
    ]
    return turns, tools


def _progress(placed: list[PlacedCall], secs: float, cpu: float | None) -> str:
    ended = [p for p in placed if p.result is not None or p.error is not None]
    refused = sum(1 for p in placed if p.refused)
    return (
        f"  {len(placed)} calls, {secs:.0f} s: {len(placed) - len(ended)} in progress, "
        f"{len(ended) - refused} ended, {refused} refused"
        + ("" if cpu is None else f"; service CPU {100 * cpu / secs:.0f} % of a core")
    )


def summary_table(reports: list[StepReport]) -> list[str]:
    """One row per step: the figures the README's table shows."""
    head = (
        f"{'calls':>5} {'accepted':>8} {'refused':>7} {'completed':>9} {'failed':>6}  "
        f"{'v2v p50/p95':>11}  {'ours p50/p95':>12}  {'worst gap':>9}  {'lag p99':>7}  "
        f"{'CPU/call':>8}  {'MB/call':>7}  load"
    )
    rows = [head]
    for r in reports:
        v2v = r.voice_to_voice_ms
        ours = r.overhead_ms
        rows.append(
            f"{r.calls:>5} {r.accepted:>8} {r.refused:>7} {r.completed:>9} "
            f"{sum(r.failed.values()):>6}  "
            f"{_pair(v2v):>11}  {_pair(ours):>12}  {_num(r.worst_gap_ms, '.0f'):>6} ms  "
            f"{_num(r.loop_lag_p99_ms, '.0f'):>4} ms  {_num(r.cpu_pct_per_call, '.2f'):>7}%  "
            f"{_num(r.rss_mb_per_call, '.1f'):>7}  {_load(r.load_after)}"
        )
    return rows


def _pair(spread: Spread) -> str:
    if spread.count == 0:
        return "-"
    return f"{spread.p50:.0f}/{spread.p95:.0f}"


async def run_bench(
    settings: Settings,
    *,
    calls: list[int],
    pipeline: str = "voice",
    workers: int | None = None,
    max_calls: int | None = None,
    echo_secs: float = 10.0,
    scenarios: list[str] | None = None,
    json_path: Path | None = None,
    burst: int = 0,
    say: Callable[[str], None] = print,
) -> list[StepReport]:
    """Run one step per entry of ``calls``; print each report and a summary table."""
    say(
        f"machine: {os.cpu_count()} cores, load {_load(os.getloadavg())}; "
        f"pipeline {pipeline}, steps {', '.join(map(str, calls))} calls"
    )
    reports: list[StepReport] = []
    logs = Path.cwd() / "var" / "bench"
    await asyncio.to_thread(logs.mkdir, parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="callproc-bench-") as temporary:
        async with Bench(
            settings,
            pipeline=pipeline,
            workers=workers,
            max_calls=max_calls,
            echo_secs=echo_secs,
            scenarios=scenarios,
            folder=Path(temporary),
            logs=logs,
            burst=burst,
            say=say,
        ) as bench:
            for n in calls:
                report = await bench.step(n)
                for line in report.lines():
                    say(line)
                reports.append(report)
                if json_path is not None:
                    await asyncio.to_thread(_write_json, json_path, reports)
    say("")
    for row in summary_table(reports):
        say(row)
    say(f"service logs: {logs}/" + (f"; figures: {json_path}" if json_path else ""))
    return reports


def _write_json(path: Path, reports: list[StepReport]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "machine": {"cores": os.cpu_count(), "load_now": os.getloadavg()},
        "steps": [asdict(r) for r in reports],
    }
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
