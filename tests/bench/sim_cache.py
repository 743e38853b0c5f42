"""The slug cache's hit ratio for the reader benchmark's requests, simulated without a server.

Draws requests from a Zipf distribution (s = `--zipf`) over `--links` links, as
bench_reader.py's wrk script does, and replays them through the cache's policy: LRU order,
TinyLFU admission with the cache's own sketch (links/admission.py), no TTL (the change feed
keeps entries; a link read during its TTL is checked, not dropped). `--second-chance N` adds
an LRU area of N entries for links read but not admitted, so that one asked again soon is not
read again. Prints the hit ratio over the second half of the requests (the first half fills
the cache), from the main cache and from the second-chance area.

    .venv/bin/python tests/bench/sim_cache.py [--links 1000000] [--zipf 1.1]
        [--size 10000] [--second-chance 0] [--requests 2000000]

About a minute per 2 million requests.
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import random
import sys
from collections import OrderedDict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from balise.links.admission import FrequencySketch  # noqa: E402


def simulate(links: int, zipf: float, size: int, second: int, requests: int) -> tuple[float, float]:
    cdf = list(itertools.accumulate(rank**-zipf for rank in range(1, links + 1)))
    total = cdf[-1]
    draw = random.Random(1).random
    sketch = FrequencySketch(size)
    main: OrderedDict[str, None] = OrderedDict()
    spare: OrderedDict[str, None] = OrderedDict()
    hits = spare_hits = 0
    measured_from = requests // 2
    for n in range(requests):
        key = str(bisect.bisect_left(cdf, draw() * total))
        sketch.add(key)
        measured = n >= measured_from
        if key in main:
            main.move_to_end(key)
            hits += measured
            continue
        if key in spare:
            spare.move_to_end(key)
            spare_hits += measured
            continue
        main[key] = None  # read, then kept if admitted (cache.py, _bound)
        if len(main) > size:
            victim = next(iter(main))
            if sketch.frequency(key) <= sketch.frequency(victim):
                del main[key]
                if second:
                    spare[key] = None
                    if len(spare) > second:
                        spare.popitem(last=False)
            else:
                main.popitem(last=False)
    counted = requests - measured_from
    return hits / counted, spare_hits / counted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--links", type=int, default=1_000_000)
    parser.add_argument("--zipf", type=float, default=1.1)
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--second-chance", type=int, default=0)
    parser.add_argument("--requests", type=int, default=2_000_000)
    args = parser.parse_args()
    hits, spare = simulate(args.links, args.zipf, args.size, args.second_chance, args.requests)
    print(
        f"size {args.size}, second chance {args.second_chance}: hits {hits + spare:.3f} "
        f"(main cache {hits:.3f}, second chance {spare:.3f})"
    )


if __name__ == "__main__":
    main()
