"""Tests for observability.logging: one scrubbed JSON stream from structlog, stdlib and loguru."""

import asyncio
import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from loguru import logger as loguru_logger

from observability.logging import (
    ALLOWED_LEVELS,
    bind_call,
    call_context,
    clear_call,
    configure_logging,
    get_logger,
    reset_logging,
)

pytestmark = pytest.mark.unit

PHONE = "+380 67 123 45 67"
KEY = "sk-ant-api03-Zx8_QwErTy-1234567890abcdef"
CARD = "4111 1111 1111 1111"
UKRAINIAN = "Дякуємо за замовлення, ґудзики їдуть до Києва"


@pytest.fixture(autouse=True)
def _fresh_logging() -> Iterator[None]:
    reset_logging()
    yield
    reset_logging()


@pytest.fixture
def out() -> io.StringIO:
    return io.StringIO()


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def by_event(stream: io.StringIO, fragment: str) -> dict[str, Any]:
    found = [line for line in lines(stream) if fragment in line["event"]]
    assert len(found) == 1, stream.getvalue()
    return found[0]


def test_structlog_line_is_scrubbed_json(out: io.StringIO) -> None:
    configure_logging(stream=out)

    get_logger("bot.session").info(
        f"{UKRAINIAN}; клієнт {PHONE}", api_key=KEY, note=f"key {KEY}", items=2, total=1299
    )

    raw = out.getvalue()
    assert raw.count("\n") == 1
    assert KEY not in raw
    assert "123 45 67" not in raw
    assert UKRAINIAN in raw  # ensure_ascii=False
    (line,) = lines(out)
    assert line["level"] == "info"
    assert line["logger"] == "bot.session"
    assert line["ts"].endswith("Z")
    assert line["event"] == f"{UKRAINIAN}; клієнт [phone]"
    assert line["api_key"] == "[redacted]"
    assert line["note"] == "key [secret]"
    assert line["items"] == 2
    assert line["total"] == 1299
    assert list(line)[:4] == ["ts", "level", "logger", "event"]


def test_stdlib_logging_goes_through_the_same_pipeline(out: io.StringIO) -> None:
    configure_logging(stream=out)

    logging.getLogger("aiohttp.access").info("GET /orders?phone=%s key=%s", PHONE, KEY)
    logging.getLogger("asyncio").warning(UKRAINIAN)

    raw = out.getvalue()
    assert KEY not in raw
    assert "123 45 67" not in raw
    access = by_event(out, "GET /orders")
    assert access["logger"] == "aiohttp.access"
    assert access["level"] == "info"
    assert "ts" in access
    assert by_event(out, UKRAINIAN)["level"] == "warning"
    assert UKRAINIAN in raw


def test_loguru_goes_through_the_same_pipeline(out: io.StringIO) -> None:
    configure_logging(stream=out)

    loguru_logger.info(f"{UKRAINIAN} {PHONE} {KEY}")
    loguru_logger.success("success maps to info")
    loguru_logger.error("something broke")

    raw = out.getvalue()
    assert KEY not in raw
    assert "123 45 67" not in raw
    line = by_event(out, UKRAINIAN)
    assert line["event"] == f"{UKRAINIAN} [phone] [secret]"
    assert line["level"] == "info"
    assert line["logger"] == __name__  # loguru's record["name"] is the calling module
    assert by_event(out, "success maps")["level"] == "info"
    assert by_event(out, "something broke")["level"] == "error"


def test_debug_is_dropped_at_info_everywhere(out: io.StringIO) -> None:
    configure_logging("INFO", stream=out)

    loguru_logger.debug("pipecat noise")
    loguru_logger.trace("pipecat trace")
    logging.getLogger("grpc").debug("grpc noise")
    get_logger("bot").debug("our noise")
    loguru_logger.info("kept")

    assert [line["event"] for line in lines(out)] == ["kept"]


def test_debug_level_lets_our_debug_through_but_not_the_libraries(out: io.StringIO) -> None:
    configure_logging("debug", stream=out)

    # What pipecat and the Anthropic SDK write at DEBUG: a customer's name passes the scrubber.
    loguru_logger.debug("Calling function [create_order] with arguments {'customer_name': 'Олена'}")
    logging.getLogger("anthropic._base_client").debug("Request options: {'messages': ...}")
    logging.getLogger("pipecat.services.llm_service").debug("stdlib side of pipecat")
    get_logger("bot.call").debug("our detail")
    logging.getLogger("processors.speech").debug("our stdlib detail")
    loguru_logger.info("pipecat info")

    assert [(line["event"], line["level"]) for line in lines(out)] == [
        ("our detail", "debug"),
        ("our stdlib detail", "debug"),
        ("pipecat info", "info"),
    ]


def test_warning_level_drops_info(out: io.StringIO) -> None:
    configure_logging("WARNING", stream=out)

    get_logger("bot").info("dropped")
    logging.getLogger("aiohttp").info("dropped too")
    loguru_logger.info("dropped as well")
    get_logger("bot").warning("kept")

    assert [line["event"] for line in lines(out)] == ["kept"]


@pytest.mark.parametrize("level", ["TRACE", "CRITICAL", "verbose", "", "WARN"])
def test_unknown_level_is_rejected_with_the_allowed_values(level: str) -> None:
    with pytest.raises(ValueError) as error:
        configure_logging(level)

    for allowed in ("DEBUG", "INFO", "WARNING", "ERROR"):
        assert allowed in str(error.value)
    assert ALLOWED_LEVELS == ("DEBUG", "INFO", "WARNING", "ERROR")


def test_configuring_twice_gives_one_line(out: io.StringIO) -> None:
    configure_logging(stream=out)
    configure_logging(stream=out)

    get_logger("bot").info("once")
    logging.getLogger("aiohttp").info("once stdlib")
    loguru_logger.info("once loguru")

    assert [line["event"] for line in lines(out)] == ["once", "once stdlib", "once loguru"]


def test_reconfiguring_moves_output_to_the_new_stream() -> None:
    first, second = io.StringIO(), io.StringIO()
    configure_logging(stream=first)
    log = get_logger("bot")
    log.info("to first")

    configure_logging(stream=second)
    log.info("to second")

    assert [line["event"] for line in lines(first)] == ["to first"]
    assert [line["event"] for line in lines(second)] == ["to second"]


def test_foreign_root_handlers_are_left_alone(out: io.StringIO) -> None:
    other = logging.StreamHandler(io.StringIO())
    root = logging.getLogger()
    root.addHandler(other)
    try:
        configure_logging(stream=out)
        configure_logging(stream=out)
        assert other in root.handlers
    finally:
        root.removeHandler(other)


def test_call_uuid_is_on_lines_inside_the_call_and_its_tasks_only(out: io.StringIO) -> None:
    configure_logging(stream=out)
    log = get_logger("bot.call")

    async def child() -> None:
        log.info("from child task")
        loguru_logger.info("from pipecat in child task")
        logging.getLogger("aiohttp.client").info("from aiohttp in child task")

    async def call() -> None:
        log.info("before call")
        with call_context("3f2b8c1e-4a5d-4e3b-9c1a-123456789012"):
            log.info("inside call")
            await asyncio.create_task(child())
        log.info("after call")

    asyncio.run(call())

    uuid = "3f2b8c1e-4a5d-4e3b-9c1a-123456789012"
    for event in (
        "inside call",
        "from child task",
        "from pipecat in child task",
        "from aiohttp in child task",
    ):
        assert by_event(out, event)["call_uuid"] == uuid
    assert "call_uuid" not in by_event(out, "before call")
    assert "call_uuid" not in by_event(out, "after call")
    assert list(by_event(out, "inside call"))[:5] == ["ts", "level", "logger", "call_uuid", "event"]


def test_concurrent_calls_keep_their_own_ids(out: io.StringIO) -> None:
    configure_logging(stream=out)
    log = get_logger("bot.call")

    async def one_call(call_uuid: str, started: asyncio.Event, other: asyncio.Event) -> None:
        bind_call(call_uuid)
        started.set()
        await other.wait()  # both calls are bound before either logs
        log.info(f"turn of {call_uuid}")

    async def main() -> None:
        a, b = asyncio.Event(), asyncio.Event()
        await asyncio.gather(one_call("call-a", a, b), one_call("call-b", b, a))
        log.info("supervisor")

    asyncio.run(main())

    assert by_event(out, "turn of call-a")["call_uuid"] == "call-a"
    assert by_event(out, "turn of call-b")["call_uuid"] == "call-b"
    assert "call_uuid" not in by_event(out, "supervisor")


def test_bind_and_clear_call(out: io.StringIO) -> None:
    configure_logging(stream=out)
    log = get_logger("bot")

    async def main() -> None:
        bind_call("c-1")
        log.info("bound")
        clear_call()
        log.info("cleared")
        clear_call()  # clearing twice is harmless

    asyncio.run(main())

    assert by_event(out, "bound")["call_uuid"] == "c-1"
    assert "call_uuid" not in by_event(out, "cleared")


def test_call_context_restores_the_outer_call(out: io.StringIO) -> None:
    configure_logging(stream=out)
    log = get_logger("bot")

    async def main() -> None:
        with call_context("outer"):
            with call_context("inner"):
                log.info("in inner")
            log.info("back in outer")

    asyncio.run(main())

    assert by_event(out, "in inner")["call_uuid"] == "inner"
    assert by_event(out, "back in outer")["call_uuid"] == "outer"


def test_exception_text_is_scrubbed(out: io.StringIO) -> None:
    configure_logging(stream=out)
    log = get_logger("bot.payments")

    try:
        raise ValueError(f"card {CARD} declined for {PHONE}")
    except ValueError:
        log.exception("payment failed")

    raw = out.getvalue()
    assert CARD not in raw
    assert "4111111111111111" not in raw
    assert "123 45 67" not in raw
    line = by_event(out, "payment failed")
    assert line["level"] == "error"
    assert "Traceback" in line["exception"]
    assert "ValueError: card [card] declined for [phone]" in line["exception"]


def test_exception_from_stdlib_and_loguru_is_scrubbed(out: io.StringIO) -> None:
    configure_logging(stream=out)

    try:
        raise RuntimeError(f"auth with {KEY} failed")
    except RuntimeError:
        logging.getLogger("aiohttp.client").exception("stdlib saw it")
        loguru_logger.exception("loguru saw it")

    raw = out.getvalue()
    assert KEY not in raw
    for event in ("stdlib saw it", "loguru saw it"):
        line = by_event(out, event)
        assert line["level"] == "error"
        assert "RuntimeError: auth with [secret] failed" in line["exception"]


def test_console_renderer_is_scrubbed_too(out: io.StringIO) -> None:
    configure_logging(json=False, stream=out)

    get_logger("bot").info(f"{UKRAINIAN} {PHONE}", token=KEY)
    loguru_logger.info(f"pipecat {KEY}")

    raw = out.getvalue()
    assert KEY not in raw
    assert "123 45 67" not in raw
    assert UKRAINIAN in raw
    assert "[phone]" in raw
    assert len(raw.splitlines()) == 2


def test_logger_created_before_configuration_uses_it(out: io.StringIO) -> None:
    early = get_logger("bot.early")
    configure_logging(stream=out)

    early.info("late", phone=PHONE)

    line = by_event(out, "late")
    assert line["phone"] == "[redacted]"
    assert line["logger"] == "bot.early"


def test_reset_logging_restores_defaults(out: io.StringIO) -> None:
    root = logging.getLogger()
    level_before = root.level
    handlers_before = list(root.handlers)
    configure_logging("ERROR", stream=out)

    reset_logging()

    assert root.level == level_before
    assert root.handlers == handlers_before
    assert not structlog.is_configured()
