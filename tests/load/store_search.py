"""Benchmark: the reference store's search time per query (prints figures, asserts nothing).

Run: ``.venv/bin/python -m tests.load.store_search``. Each query of the unit test table runs
``--repeat`` times; the best and the median time per query and the slowest query are printed.
"""

from __future__ import annotations

import argparse
import statistics
import time

from sandbox.store.catalogue import Catalogue
from tests.unit.sandbox.test_store_search import QUERIES


def main() -> None:
    """Time every table query against the shipped catalogue."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    repeat = parser.parse_args().repeat
    catalogue = Catalogue.load()
    catalogue.search(QUERIES[0][0])  # warm up
    rows = []
    for query, *_ in QUERIES:
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            catalogue.search(query, limit=5)
            times.append((time.perf_counter() - started) * 1000)
        rows.append((min(times), statistics.median(times), query))
    for best, median, query in sorted(rows, reverse=True)[:5]:
        print(f"{median:7.2f} ms median  {best:7.2f} ms best  {query}")
    medians = [m for _, m, _ in rows]
    print(
        f"{len(rows)} queries x {repeat} over {len(catalogue.products)} products: median "
        f"{statistics.median(medians):.2f} ms, slowest query median {max(medians):.2f} ms"
    )


if __name__ == "__main__":
    main()
