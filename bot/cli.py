"""The ``callproc`` command: serve calls, place a simulated call, run the demo, manage data."""

from __future__ import annotations

import argparse
import asyncio
import errno
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bot import __version__
from bot.settings import (
    Settings,
    SettingsError,
    describe,
    load_settings,
    render_env_example,
)
from bot.storage_cli import add_commands as add_storage_commands
from observability.logging import configure_logging


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"callproc: configuration error\n{exc}", file=sys.stderr)
        return 2
    if getattr(args, "quiet_logs", False):
        # Tools for a person or a script: their output is stdout; only problems are logged.
        configure_logging("WARNING", json=settings.log_format == "json", stream=sys.stderr)
    else:
        configure_logging(settings.log_level, json=settings.log_format == "json")
    return int(args.func(settings, args) or 0)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="callproc", description=__doc__)
    parser.add_argument("--version", action="version", version=f"callproc {__version__}")
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="answer AudioSocket calls until SIGTERM")
    serve.add_argument(
        "--workers",
        type=int,
        help="worker processes sharing the AudioSocket port (default: CALLPROC_WORKERS, "
        "else one per CPU core); 1 serves everything in this process",
    )
    serve.set_defaults(func=_serve)

    call = sub.add_parser("call", help="place a simulated call (an AudioSocket client)")
    call.add_argument("--target", default="127.0.0.1:9092", help="HOST:PORT of the server")
    call.add_argument("--wav", type=Path, help="16-bit WAV the caller says (any rate)")
    call.add_argument("--speech-at", type=float, default=0.5, help="seconds before speaking")
    call.add_argument("--duration", type=float, default=10.0, help="seconds before hanging up")
    call.add_argument(
        "--dtmf", default="", help="key presses as SECONDS:KEY,... e.g. '3:1,5:*,6:#'"
    )
    call.add_argument("--rate", type=int, default=8000, choices=(8000, 16000))
    call.add_argument("--record", type=Path, default=Path("var/calls/last-call.wav"))
    call.set_defaults(func=_call)

    demo = sub.add_parser("demo", help="run scripted store calls on this machine and record them")
    demo.add_argument(
        "scenarios",
        nargs="*",
        help="shipped scenario names or scenario files (path/to/call.yaml); default: all shipped",
    )
    demo.set_defaults(func=_demo)

    evaluate = sub.add_parser(
        "eval",
        help="place the attack and conversation suite as calls and judge every one",
        description="Places every attack of sandbox/eval/attacks.yaml and every shipped "
        "scenario as a call (speech on the local stand-ins) and judges it: orders at a wrong "
        "price or without a yes, instructions spoken, other customers' data, LLM requests, "
        "silences, clean ends. By default the model is a scripted one that falls for every "
        "attack (the code's guardrails are judged; every case must pass); --live uses real "
        "Claude. Exits 1 if any call failed a check.",
    )
    evaluate.add_argument(
        "--live", action="store_true", help="real Claude (needs ANTHROPIC_API_KEY) instead"
    )
    evaluate.add_argument("--category", action="append", help="only this category (repeatable)")
    evaluate.add_argument("--case", action="append", help="only this case id (repeatable)")
    evaluate.add_argument(
        "--concurrency",
        type=int,
        default=10,
        help="calls at a time (default 10: the service, the stand-ins and the callers share"
        " one process)",
    )
    evaluate.add_argument(
        "--out", type=Path, default=Path("eval-output"), help="where the report is saved"
    )
    evaluate.set_defaults(func=_eval)

    bench = sub.add_parser(
        "bench",
        help="place N simultaneous scripted calls against the service and measure it",
        description="Places N simultaneous calls against a freshly started service (stand-ins "
        "in a process of their own) and prints calls accepted/refused/completed, latency, "
        "pacing, event-loop lag, CPU and memory per call. Benchmarks print; nothing is asserted.",
    )
    bench.add_argument(
        "--calls", default="10,20", help="comma-separated steps, e.g. 10,20,40 (default 10,20)"
    )
    bench.add_argument("--pipeline", choices=("voice", "echo"), default="voice")
    bench.add_argument("--workers", type=int, help="callproc serve --workers (default: its own)")
    bench.add_argument("--max-calls", type=int, help="the service's call cap (default: its own)")
    bench.add_argument(
        "--secs", type=float, default=10.0, help="length of each echo call (default 10)"
    )
    bench.add_argument("--scenarios", help="comma-separated scenario names (default: all)")
    bench.add_argument(
        "--burst",
        type=int,
        default=0,
        help="once each step's calls are talking, this many more arrive within 1 s; prints "
        "the worst gap the talking calls heard meanwhile (call start-up cost)",
    )
    bench.add_argument(
        "--soak",
        type=float,
        metavar="MINUTES",
        help="instead of steps: keep --calls calls going (one number) for this long, printing "
        "memory, descriptors, asyncio tasks and PostgreSQL/Redis connections every minute",
    )
    bench.add_argument("--json", type=Path, help="also write the figures to this file")
    bench.set_defaults(func=_bench, quiet_logs=True)

    store = sub.add_parser(
        "store", help="run the reference Store API with the sample catalogue until Ctrl-C"
    )
    store.add_argument("--host", default="127.0.0.1", help="address to listen on")
    store.add_argument("--port", type=int, default=8090, help="TCP port (0: any free port)")
    store.add_argument(
        "--api-key",
        help="X-API-Key to require (default: CALLPROC_STORE__API_KEY, else sandbox-store-key)",
    )
    store.set_defaults(func=_store)

    add_storage_commands(sub)

    asterisk = sub.add_parser("asterisk", help="check an Asterisk configuration against ours")
    asterisk_sub = asterisk.add_subparsers(required=True, metavar="ACTION")
    check = asterisk_sub.add_parser(
        "check", help="ports, contexts, URLs, AMI/ARI rights, SIP allow-list, passwords"
    )
    check.add_argument("folder", type=Path, nargs="?", default=Path("/etc/asterisk"))
    check.add_argument("--fail2ban", type=Path, help="the jail file to check too")
    check.add_argument(
        "--template", action="store_true", help="CHANGE_ME placeholders are expected (asterisk/)"
    )
    check.set_defaults(func=_asterisk_check, quiet_logs=True)

    config = sub.add_parser("config", help="print every setting, its value and meaning")
    config.add_argument(
        "--env-example", action="store_true", help="print the defaults as .env.example"
    )
    config.set_defaults(func=_config)
    return parser


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    workers = args.workers if args.workers is not None else settings.workers
    workers = workers or os.cpu_count() or 1
    if workers < 1:
        print(f"callproc serve: --workers must be 1 or more, got {workers}", file=sys.stderr)
        return 2
    if workers > 1:
        _prepare_multiprocess_metrics(settings.data_dir)  # before prometheus_client loads

    async def run() -> None:
        if workers > 1:
            from bot.supervisor import Supervisor

            server = Supervisor(settings, workers)
        else:
            from bot.service import Service

            server = Service(settings)
        await server.start()
        await server.run_until_signal()

    try:
        asyncio.run(run())
    except RuntimeError as exc:  # e.g. a worker that could not start
        print(f"callproc serve: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        if exc.errno not in (errno.EADDRINUSE, errno.EADDRNOTAVAIL):
            raise
        print(f"callproc serve: {exc}\n{_port_advice(settings, str(exc))}", file=sys.stderr)
        return 2
    return 0


def _port_advice(settings: Settings, error: str) -> str:
    """Which setting to change when a port cannot be bound (the error names the address)."""
    ports = {
        "CALLPROC_HTTP__PORT": settings.http.port,
        "CALLPROC_AUDIOSOCKET__PORT": settings.audiosocket.port,
    }
    named = [f"{var} (now {port})" for var, port in ports.items() if f", {port})" in error]
    named = named or [f"{var} (now {port})" for var, port in ports.items()]
    return (
        "another process holds that address (an earlier callproc serve?): stop it, or set "
        + " or ".join(named)
        + " (and the host in CALLPROC_HTTP__HOST / CALLPROC_AUDIOSOCKET__HOST)"
    )


def _prepare_multiprocess_metrics(data_dir: Path) -> None:
    """Point prometheus-client at an emptied folder shared by the supervisor and its workers."""
    folder = Path(os.environ.get("PROMETHEUS_MULTIPROC_DIR") or data_dir / "metrics")
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):  # values of an earlier run
        stale.unlink()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder.resolve())


def _call(_: Settings, args: argparse.Namespace) -> int:
    from sandbox.caller import CallScript, place_call, read_wav

    host, _, port = args.target.rpartition(":")
    if not host or not port.isdigit():
        print(f"callproc call: --target must be HOST:PORT, got {args.target!r}", file=sys.stderr)
        return 2
    try:
        dtmf = tuple(
            (float(at), key) for at, _, key in (p.partition(":") for p in args.dtmf.split(",") if p)
        )
        audio = read_wav(args.wav, args.rate) if args.wav else b""
    except ValueError as exc:
        print(f"callproc call: {exc}", file=sys.stderr)
        return 2
    script = CallScript(
        audio=audio,
        rate=args.rate,
        speech_at_secs=args.speech_at,
        dtmf=dtmf,
        duration_secs=args.duration,
    )
    try:
        result = asyncio.run(place_call(host, int(port), script))
    except OSError as exc:
        print(f"callproc call: cannot reach {args.target}: {exc}", file=sys.stderr)
        return 1
    print(f"call {result.call_id} ended by {result.ended_by}")
    print(f"bot audio timing: {result.stats.summary()}")
    print(f"recording: {result.save_wav(args.record)}")
    return 0


@contextmanager
def _service_log(command: str, settings: Settings) -> Iterator[Path]:
    """The report goes to the terminal, the service's own JSON log to ``var/COMMAND/``.

    Logging is configured before the caller imports the command's module (which loads pipecat
    and its banner line).
    """
    log_path = Path(f"var/{command}/service.log")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w", encoding="utf-8") as log_file:
        configure_logging(settings.log_level, json=True, stream=log_file)
        yield log_path
    print(f"service log: {log_path}")


def _demo(settings: Settings, args: argparse.Namespace) -> int:
    with _service_log("demo", settings):
        from bot.demo import choose_scenarios, run_demo
        from sandbox.scenario import ScenarioError

        try:
            choose_scenarios(args.scenarios or None)  # a bad name or file: one line, no service
        except ScenarioError as e:
            print(f"callproc demo: {e}", file=sys.stderr)
            return 2
        asyncio.run(run_demo(settings, args.scenarios or None))
    return 0


def _eval(settings: Settings, args: argparse.Namespace) -> int:
    with _service_log("eval", settings):
        from bot.evaluation import EvalError, choose_cases, run_eval

        try:
            cases = choose_cases(args.category, args.case)
            figures = asyncio.run(
                run_eval(
                    settings, cases, live=args.live, concurrency=args.concurrency, out=args.out
                )
            )
        except EvalError as e:
            print(f"callproc eval: {e}", file=sys.stderr)
            return 2
    return 0 if figures["passed"] == figures["calls"] else 1


def _bench(settings: Settings, args: argparse.Namespace) -> int:
    from bot.bench import run_bench

    try:
        steps = [int(n) for n in args.calls.split(",") if n.strip()]
    except ValueError:
        steps = []
    if not steps or min(steps) < 1:
        print(f"callproc bench: --calls must be numbers like 10,20,40, got {args.calls!r}",
              file=sys.stderr)  # fmt: skip
        return 2
    scenarios = [s.strip() for s in args.scenarios.split(",")] if args.scenarios else None
    if args.soak is not None:
        from bot.soak import run_soak

        if len(steps) != 1 or args.soak <= 0:
            print("callproc bench --soak MINUTES needs one --calls number, e.g. --calls 10",
                  file=sys.stderr)  # fmt: skip
            return 2
        asyncio.run(
            run_soak(
                settings,
                calls=steps[0],
                minutes=args.soak,
                workers=args.workers,
                json_path=args.json,
                say=lambda line: print(line, flush=True),
            )
        )
        return 0
    try:
        asyncio.run(
            run_bench(
                settings,
                calls=steps,
                pipeline=args.pipeline,
                workers=args.workers,
                max_calls=args.max_calls,
                echo_secs=args.secs,
                scenarios=scenarios,
                json_path=args.json,
                burst=args.burst,
                say=lambda line: print(line, flush=True),
            )
        )
    except (ValueError, RuntimeError) as exc:
        print(f"callproc bench: {exc}", file=sys.stderr)
        return 1
    return 0


def _store(settings: Settings, args: argparse.Namespace) -> int:
    from bot.stop_signals import on_stop_signals
    from sandbox.store.server import ReferenceStore

    configured = getattr(getattr(settings, "store", None), "api_key", None)
    api_key = args.api_key or (
        configured.get_secret_value() if configured is not None else "sandbox-store-key"
    )

    async def run() -> int:
        store = ReferenceStore(api_key=api_key)
        try:
            await store.start(args.host, args.port)
        except OSError as exc:
            print(
                f"callproc store: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr
            )
            return 1
        catalogue = store.catalogue
        cities = ", ".join(c.name for c in catalogue.cities)
        print(f"reference store: {store.base_url}  (contract: docs/store-api.openapi.yaml)")
        print(
            f"  {len(catalogue.products)} products in {len(catalogue.categories)} categories, "
            f"{len(catalogue.cities)} cities ({cities}); seeded orders "
            + ", ".join(sorted(store.orders))
        )
        print(f"  every /v1 request needs the header X-API-Key: {api_key}")
        print("try:")
        print(
            f"  curl -sG -H 'X-API-Key: {api_key}' {store.base_url}/v1/products "
            "--data-urlencode 'q=павербанк 20000' --data-urlencode 'city=Львів'"
        )
        print("Ctrl-C stops it.", flush=True)
        stopping = asyncio.Event()
        try:
            with on_stop_signals(stopping.set):
                await stopping.wait()
        finally:
            await store.stop()
        print("reference store stopped")
        return 0

    return asyncio.run(run())


def _asterisk_check(settings: Settings, args: argparse.Namespace) -> int:
    from bot.asterisk_check import check, read_folder

    if not args.folder.is_dir():
        print(f"callproc asterisk check: no folder {args.folder}", file=sys.stderr)
        return 2
    findings = check(
        read_folder(args.folder),
        http_port=settings.http.port,
        audiosocket_port=settings.audiosocket.port,
        queue=settings.handoff.queue,
        fail2ban=args.fail2ban.read_text() if args.fail2ban else None,
    )
    for finding in findings:
        print(finding)
    failing = [f for f in findings if f.level == "error" or not args.template]
    print(f"{len(findings)} findings in {args.folder}" if findings else f"{args.folder}: all good")
    return 1 if failing else 0


def _config(settings: Settings, args: argparse.Namespace) -> int:
    if args.env_example:
        print(render_env_example(load_settings(None)), end="")
        return 0
    for name, value, description in describe(settings):
        print(f"{name}={value}\n    {description}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
