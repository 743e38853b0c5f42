"""Where a `py-spy record --threads --format raw` profile of `balise serve` spends its samples
(with `--subprocesses`, its click store process's too).

    .venv/bin/python tests/bench/spysplit.py profile.txt [--top 25]

Prints the share of samples per thread kind (request threads, the waitress loop, the click
writer, the cache refresher, the webhook worker...), then per part of the reader path (the
first matching frame of each sample names its part), then the busiest leaf functions. With
`bench_reader.py --profile x.txt` the profile covers the measured run only, without idle
samples: the shares are of the CPU time the process used.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter

THREADS = (
    ("waitress request threads", r"^waitress-\d+"),
    ("waitress loop (main thread)", r"^MainThread"),
    ("click writer", r"^balise-clicks"),
    ("click store process", r"^balise-store"),
    ("slug cache refresh", r"^balise-cache"),
    ("webhook worker", r"webhook|delivery"),
)
# First match wins, tried on the whole stack (outermost frame first).
PARTS = (
    ("click writer: rollups.add_clicks", r"add_clicks \("),
    ("click writer: hourly counters", r"increment_hourly \("),
    ("click writer: webhooks outbox", r"queue_for_webhooks \("),
    ("click writer: rows (classify, hash, geo)", r"_Rows\.add \("),
    ("click writer: inserts", r"write_batch \("),
    ("click writer: salts, commit, other", r"Recorder\._(run|commit|write|store) \("),
    ("slug cache: read (refresh or miss)", r"load_entry \("),
    ("page render", r"render \(balise/web/reader/page\.py"),
    ("reader: classify user agent", r"classify \("),
    ("reader: beacon token", r"Tracker\.token \("),
    ("reader: click buffer put", r"Tracker\.record \(|Recorder\.record \("),
    ("reader: observe (hit)", r"Tracker\.observe \("),
    ("reader: cache look-up", r"LinkCache\.(get|peek) \("),
    ("reader: serve (join, headers)", r"Reader\.serve \("),
    ("metrics wrapper", r"Timed\.__call__ \([^;]*$|Durations\.observe \("),
    ("Flask (handed over)", r"Flask\.(wsgi_app|__call__) \(flask"),
    ("reader path, other", r"ReaderPath\.__call__ \("),
    ("waitress: write/send", r"(send|write|_flush_some|handle_write|write_soon) \(waitress"),
    ("waitress: read/parse", r"(received|parse|handle_read|recv) \(waitress"),
    ("waitress: task/headers", r"waitress/task\.py"),
    ("waitress: loop (poll/select)", r"(poll|select|loop) \(waitress/wasyncore"),
    ("waitress: other", r"waitress/"),
    ("webhook worker", r"integrations/"),
)


def thread_kind(name: str) -> str:
    for label, pattern in THREADS:
        if re.search(pattern, name):
            return label
    return "other threads"


def part(stack: str) -> str:
    for label, pattern in PARTS:
        if re.search(pattern, stack):
            return label
    return "other"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    threads: Counter[str] = Counter()
    parts: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    with open(args.profile) as fh:
        for line in fh:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            if not stack:
                continue
            n = int(count)
            # --subprocesses: each stack starts with its process; the store process is a kind
            # of its own, the serving process's stacks go on with their thread.
            process = ""
            while stack.startswith("process "):
                process, _, stack = stack.partition(";")
            head, _, frames = stack.partition(";")
            name = "balise-store" if "storeproc" in process else head.split(": ", 1)[-1]
            threads[thread_kind(name)] += n
            parts[part(frames)] += n
            leaves[re.sub(r":\d+\)", ")", frames.rsplit(";", 1)[-1])] += n
    total = sum(threads.values()) or 1
    for title, counter, limit in (
        ("thread", threads, None),
        ("part", parts, None),
        ("leaf function", leaves, args.top),
    ):
        print(f"\n{'share':>7}  {title} ({total} samples)")
        for label, n in counter.most_common(limit):
            print(f"{100 * n / total:6.1f}%  {label}")


if __name__ == "__main__":
    main()
