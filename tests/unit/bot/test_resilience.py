import pytest

from bot.resilience import CircuitBreaker, TTLCache

pytestmark = pytest.mark.unit


def test_breaker_opens_after_consecutive_failures_only():
    breaker = CircuitBreaker(failures=3, reset_secs=10)
    breaker.failed(0)
    breaker.failed(1)
    breaker.succeeded()  # a success in between resets the count
    breaker.failed(2)
    breaker.failed(3)
    assert breaker.allow(3.5)
    breaker.failed(4)
    assert breaker.state == "open"
    assert not breaker.allow(5)
    assert not breaker.allow(13.9)


def test_breaker_lets_one_probe_through_after_the_pause():
    breaker = CircuitBreaker(failures=1, reset_secs=10)
    breaker.failed(0)
    assert breaker.allow(10)  # the probe
    assert breaker.state == "half_open"
    assert not breaker.allow(10.1)  # only one probe at a time
    breaker.failed(10.2)  # the probe failed: open again, for a full pause
    assert not breaker.allow(20.1)
    assert breaker.allow(20.2)
    breaker.succeeded()
    assert breaker.state == "closed" and breaker.allow(20.3)


def test_a_probe_that_never_reports_back_does_not_jam_the_breaker():
    breaker = CircuitBreaker(failures=1, reset_secs=10)
    breaker.failed(0)
    assert breaker.allow(10)  # the probe, then cancelled: neither failed() nor succeeded()
    assert not breaker.allow(19.9)
    assert breaker.allow(20)  # a new probe
    breaker.succeeded()
    assert breaker.state == "closed"


def test_cache_expires_entries_after_ttl():
    cache: TTLCache[int] = TTLCache(ttl_secs=30)
    cache.put("a", 1, now=100)
    assert cache.get("a", now=129.9) == 1
    assert cache.get("a", now=130) is None
    assert cache.get("missing", now=100) is None


def test_cache_keeps_at_most_max_items_dropping_the_oldest():
    cache: TTLCache[int] = TTLCache(ttl_secs=30, max_items=2)
    cache.put("a", 1, now=0)
    cache.put("b", 2, now=0)
    cache.put("a", 3, now=1)  # refreshed: now the newest
    cache.put("c", 4, now=2)
    assert cache.get("b", now=2) is None
    assert cache.get("a", now=2) == 3 and cache.get("c", now=2) == 4


def test_cache_with_zero_ttl_stores_nothing_and_clear_empties_it():
    off: TTLCache[int] = TTLCache(ttl_secs=0)
    off.put("a", 1, now=0)
    assert off.get("a", now=0) is None
    cache: TTLCache[int] = TTLCache(ttl_secs=5)
    cache.put("a", 1, now=0)
    cache.clear()
    assert cache.get("a", now=0) is None
