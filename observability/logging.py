"""One logging pipeline for the whole process: JSON lines on stdout, scrubbed, tagged with the call.

`configure_logging` wires three sources into the same output:

* structlog loggers from `get_logger` (our code);
* the stdlib root logger (aiohttp, asyncio, grpc, ...), through a handler whose
  `structlog.stdlib.ProcessorFormatter` runs the same processors;
* loguru (pipecat logs through it): its handlers are replaced by a sink that re-emits each record
  on the stdlib logger named after the loguru record (``pipecat.transports.base_output``).

At DEBUG only our own packages write DEBUG lines; libraries stay at INFO and above, because their
DEBUG output (transcripts, LLM context, tool arguments) is personal data the scrubber cannot spot.

Every line is one JSON object with ``ts`` (ISO 8601, UTC), ``level``, ``logger``, ``event``,
``call_uuid`` when emitted inside `call_context` / after `bind_call`, any extra fields, and
``exception`` for tracebacks. Every key and value, the message and the traceback text included,
goes through `observability.scrub.scrub_value` right before rendering.

Call context lives in `contextvars` (via `structlog.contextvars`), so it follows the asyncio task
that bound it and every task created from that task, and never leaks into other calls' tasks.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final, TextIO, cast

import structlog
from loguru import logger as _loguru
from structlog.typing import EventDict, Processor, WrappedLogger

from observability.scrub import scrub_text, scrub_value

ALLOWED_LEVELS: Final[tuple[str, ...]] = ("DEBUG", "INFO", "WARNING", "ERROR")
"""Level names `configure_logging` accepts (in any case)."""

CALL_KEY: Final = "call_uuid"

_HANDLER_MARK: Final = "_callproc_observability"
_LEADING_KEYS: Final = ("ts", "level", "logger", CALL_KEY, "event")
_NOT_SCRUBBED: Final = frozenset({"ts", "level"})  # written by our own processors
_LOGURU_TO_STDLIB: Final = {
    "TRACE": logging.DEBUG,
    "DEBUG": logging.DEBUG,
    "INFO": logging.INFO,
    "SUCCESS": logging.INFO,
    "WARNING": logging.WARNING,
    "ERROR": logging.ERROR,
    "CRITICAL": logging.CRITICAL,
}

OWN_PACKAGES: Final = ("bot", "transports", "processors", "observability", "sandbox")
"""Top-level packages whose DEBUG lines are written at level DEBUG."""

_root_level_before: int | None = None


def _validate_level(level: str) -> int:
    name = level.upper() if isinstance(level, str) else level
    if name not in ALLOWED_LEVELS:
        raise ValueError(
            f"unknown log level {level!r}; allowed values: {', '.join(ALLOWED_LEVELS)}"
        )
    return cast(int, logging.getLevelName(name))


def scrub_processor(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """Structlog processor: scrub every key and value, and put the common fields first.

    Args:
        _logger: The wrapped logger (unused).
        _method: The log method name (unused).
        event_dict: The event being logged.

    Returns:
        A new, scrubbed event dict ordered ``ts, level, logger, call_uuid, event, ...``.
    """
    scrubbed: EventDict = {}
    for key in _LEADING_KEYS:
        if key in event_dict:
            value = event_dict[key]
            scrubbed[key] = value if key in _NOT_SCRUBBED else scrub_value(value, key)
    for key, value in event_dict.items():
        if key in scrubbed:
            continue
        if isinstance(key, str):
            scrubbed[scrub_text(key)] = scrub_value(value, key)
        else:
            scrubbed[key] = scrub_value(value)
    return scrubbed


def _shared_processors() -> list[Processor]:
    """Processors that enrich both structlog events and foreign (stdlib/loguru) records."""
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="ts"),
        structlog.stdlib.add_logger_name,
    ]


def _build_formatter(*, json: bool, stream: TextIO) -> structlog.stdlib.ProcessorFormatter:
    renderer: Processor
    if json:
        renderer = structlog.processors.JSONRenderer(ensure_ascii=False)
    else:
        isatty = getattr(stream, "isatty", None)
        renderer = structlog.dev.ConsoleRenderer(
            colors=bool(isatty and isatty()),
            timestamp_key="ts",
            exception_formatter=structlog.dev.plain_traceback,
        )
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_shared_processors(),
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.StackInfoRenderer(),
            # Tracebacks become plain text here so that the scrubber sees them.
            structlog.processors.format_exc_info,
            scrub_processor,
            renderer,
        ],
    )


class _LibraryDebugFilter(logging.Filter):
    """Drop the DEBUG lines of libraries (pipecat, anthropic, aiohttp, grpc, asyncpg ...).

    Their DEBUG output carries transcripts, the LLM context, request bodies and tool
    arguments (a customer's name, an address): personal data the scrubber cannot recognise
    by shape. DEBUG is for our own code; libraries log from INFO up whatever the level.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.INFO:
            return True
        return record.name.partition(".")[0] in OWN_PACKAGES


def _loguru_sink(message: Any) -> None:
    """Re-emit a loguru record on the stdlib logger of the same name."""
    record = message.record
    level = _LOGURU_TO_STDLIB.get(record["level"].name, record["level"].no)
    target = logging.getLogger(record["name"] or "loguru")
    if not target.isEnabledFor(level):
        return
    exception = record["exception"]
    exc_info = (exception.type, exception.value, exception.traceback) if exception else None
    log_record = target.makeRecord(
        target.name,
        level,
        record["file"].path,
        record["line"],
        record["message"],
        (),
        exc_info,
        func=record["function"],
    )
    target.handle(log_record)


def _remove_our_handlers(root: logging.Logger) -> None:
    for handler in list(root.handlers):
        if getattr(handler, _HANDLER_MARK, False):
            root.removeHandler(handler)
            handler.close()


def configure_logging(
    level: str = "INFO", *, json: bool = True, stream: TextIO | None = None
) -> None:
    """Send structlog, stdlib logging and loguru to one scrubbed output.

    Safe to call again (for example with another level): the previous configuration is replaced,
    never duplicated. Handlers that others put on the root logger are left in place.

    Args:
        level: Minimum level, one of `ALLOWED_LEVELS` (any case).
        json: One JSON object per line when True; a human-readable console format (still
            scrubbed) when False, for local runs.
        stream: Where lines go; ``sys.stdout`` by default.

    Raises:
        ValueError: ``level`` is not one of `ALLOWED_LEVELS`.
    """
    global _root_level_before

    levelno = _validate_level(level)
    out = stream if stream is not None else sys.stdout

    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_shared_processors(),
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )

    handler = logging.StreamHandler(out)
    handler.setFormatter(_build_formatter(json=json, stream=out))
    handler.addFilter(_LibraryDebugFilter())
    setattr(handler, _HANDLER_MARK, True)

    root = logging.getLogger()
    if _root_level_before is None:
        _root_level_before = root.level
    _remove_our_handlers(root)
    root.addHandler(handler)
    root.setLevel(levelno)

    _loguru.remove()
    _loguru.add(
        _loguru_sink,
        level=max(levelno, logging.INFO),  # loguru is pipecat's: see _LibraryDebugFilter
        format="{message}",
        backtrace=False,
        diagnose=False,  # diagnose prints local variables, secrets included
        catch=True,
    )


def reset_logging() -> None:
    """Undo `configure_logging`: structlog defaults, no handler of ours, loguru on stderr.

    Meant for tests, so that each starts from the libraries' own defaults.
    """
    global _root_level_before

    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()
    root = logging.getLogger()
    _remove_our_handlers(root)
    if _root_level_before is not None:
        root.setLevel(_root_level_before)
        _root_level_before = None
    _loguru.remove()
    _loguru.add(sys.stderr)


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    """Return a structlog logger that logs under ``name`` (use ``__name__``).

    Args:
        name: Logger name; it is the ``logger`` field of every line and the stdlib logger whose
            level applies.

    Returns:
        A lazily configured bound logger, so module-level loggers created before
        `configure_logging` still use its configuration.
    """
    return cast(structlog.stdlib.BoundLogger, structlog.stdlib.get_logger(name))


def bind_call(call_uuid: str) -> None:
    """Tag every later line of the current task (and tasks it creates) with ``call_uuid``.

    Args:
        call_uuid: The call's id.
    """
    structlog.contextvars.bind_contextvars(**{CALL_KEY: str(call_uuid)})


def clear_call() -> None:
    """Stop tagging lines of the current task with a call id."""
    structlog.contextvars.unbind_contextvars(CALL_KEY)


@contextmanager
def call_context(call_uuid: str) -> Iterator[None]:
    """Tag the lines logged inside the ``with`` block with ``call_uuid``.

    Tasks created inside the block copy the context and keep the tag for their whole life. On
    exit the previous call id (if any) is restored.

    Args:
        call_uuid: The call's id.

    Yields:
        Nothing.
    """
    tokens = structlog.contextvars.bind_contextvars(**{CALL_KEY: str(call_uuid)})
    try:
        yield
    finally:
        structlog.contextvars.reset_contextvars(**tokens)
