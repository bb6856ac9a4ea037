"""Garbage-collector pauses: kept short, and measured.

A full collection walks every object the process holds; with pipecat, the Google and
Anthropic clients and the models loaded (~350,000 objects) that took 100-300 ms, during which
no call's 20 ms frames were sent (seen in ``callproc bench --burst``). Everything alive once
the service has started lives as long as the process, so :func:`freeze_start_up` moves it
out of the collector's sight (``gc.freeze``); later collections walk only the calls' own
objects. :func:`measure_pauses` reports every collection's length to a histogram.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable


def freeze_start_up() -> None:
    """Collect once, then exempt every object alive now from all later collections."""
    gc.collect()
    gc.freeze()


def measure_pauses(observe: Callable[[float], None]) -> Callable[[str, dict], None]:
    """Report each collection's duration (seconds) to ``observe``; returns the callback."""
    started = [0.0]

    def callback(phase: str, _info: dict) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            observe(time.perf_counter() - started[0])

    gc.callbacks.append(callback)
    return callback
