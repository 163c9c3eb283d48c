"""What clusters and networks cost: linking time and memory per 10,000 ads, as the store grows to
1M ads, measured side by side with the same upserts without linking, in one run (SQLite).

Synthetic fictional ads: templates reposted with other phones, amounts and emoji (a tenth of the ads
are reposts of an earlier template), phones partly shared between recruiters, one generic hotline in
1 ad of 50. Each step upserts 10,000 ads into two stores of the same size, one with linking
(``PATROLI_LINKING_ENABLED``) and one without, alternately, and reports:

- ``link_s_per_10k``: upsert with linking minus upsert without (the linking's own cost);
- ``ratio``: upsert time with linking ÷ without;
- ``rss_mib``: the process's resident memory after the step (linking keeps no state in memory:
  what grows is SQLite's page cache), ``db_mib`` the size of the linked store's file.

    .venv/bin/python bench/networks_cost.py [--ads 1000000] [--step 10000] [--checkpoints 5]
        [--store opensearch+http://127.0.0.1:9200]

With ``--store`` the two stores are indices (two fresh prefixes, dropped at the end) of that search
engine instead of SQLite files, and ``db_mib`` is the linked store's indices on disk.

Steps between checkpoints are loaded without measuring (in batches of 10,000, linked).
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from patroli.storage import open_store

_SENTENCE = (
    "admin chat cs online operator kebun sawit pabrik prt art caregiver lansia abk kapal ikan "
    "gaji bonus mess makan gratis tiket ditanggung tanpa ijazah pengalaman paspor dibantu "
    "berangkat cepat minggu depan interview zoom kuota terbatas visa ziarah kerja kontrak "
    "potong biaya proses transfer rekening daftar segera syarat usia cwe cwo bisa mengetik "
    "kamboja thailand malaysia arab saudi jepang korea taiwan hongkong dubai qatar"
)
WORDS = _SENTENCE.split(" ")
EMOJI = ("🔥", "✅", "✈️", "🇰🇭", "‼️", "🙏", "")
HOTLINE = "+6281155501500"


def make_ads(
    start: int, count: int, rng: random.Random, templates: dict[int, list[str]]
) -> list[dict[str, Any]]:
    """Recruiters (about one per 10 ads) each post one to three templates of their own, with one
    of their few numbers; 1 ad in 50 also prints the generic hotline."""
    ads = []
    for i in range(start, start + count):
        recruiter = rng.randrange(max((start + count) // 10, 100))
        own = templates.setdefault(recruiter, [])
        if not own or (len(own) < 3 and rng.random() < 0.2):
            own.append(" ".join(rng.choice(WORDS) for _ in range(rng.randrange(40, 90))))
        body = rng.choice(own)
        number = recruiter * 3 + rng.randrange(3)
        phone = f"+628125{number % 10_000_000:07d}"
        phones = [phone] + ([HOTLINE] if rng.random() < 0.02 else [])
        text = (
            f"{rng.choice(EMOJI)} {body} gaji {rng.randrange(800, 2000)} USD, berangkat "
            f"{rng.randrange(1, 28)} bulan depan. WA 0{phone[3:]} {rng.choice(EMOJI)}"
        )
        ads.append(
            {
                "ad_id": f"b{i:08d}",
                "source": f"bench{i % 4}",
                "source_kind": "feed",
                "native_id": str(i),
                "url": f"https://example.test/{i}",
                "title": body[:40],
                "text": text,
                "crawled_at": "2026-11-20T00:00:00+00:00",
                "content_hash": f"h{i}",
                "phones": phones,
                "countries": ["KH"],
                "risk": 0.5,
                "flagged": True,
            }
        )
    return ads


def rss_mib() -> float:
    with open("/proc/self/statm") as handle:  # noqa: PTH123 - Linux only, like the bench machine
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def upsert(store: Any, ads: list[dict[str, Any]], linking: bool) -> float:
    os.environ["PATROLI_LINKING_ENABLED"] = "true" if linking else "false"
    started = time.perf_counter()
    store.upsert_ads(ads)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ads", type=int, default=1_000_000)
    parser.add_argument("--step", type=int, default=10_000)
    parser.add_argument("--checkpoints", type=int, default=5, help="measured steps (log-spaced)")
    parser.add_argument(
        "--dir", default="", help="where the two stores go (default: a temporary dir)"
    )
    parser.add_argument("--store", default="", help="a search engine's store URL (not SQLite)")
    args = parser.parse_args()
    rng = random.Random(15)  # noqa: S311 - fictional bench data, not secrets
    templates: dict[int, list[str]] = {}
    directory = Path(args.dir or tempfile.mkdtemp(prefix="patroli-networks-bench-"))
    if args.store:
        tag = uuid.uuid4().hex[:6]
        linked = open_store(f"{args.store}?prefix=nl{tag}")
        plain = open_store(f"{args.store}?prefix=np{tag}")
    else:
        linked = open_store(f"sqlite:///{directory / 'linked.db'}")
        plain = open_store(f"sqlite:///{directory / 'plain.db'}")

    def size_mib() -> float:
        if not args.store:
            return (directory / "linked.db").stat().st_size / 2**20
        rows = linked.client.request(  # type: ignore[attr-defined]
            "GET", f"/_cat/indices/nl{tag}-*", params={"format": "json", "bytes": "b"}
        )
        return sum(int(row["store.size"]) for row in rows) / 2**20

    steps = args.ads // args.step
    measured = sorted(
        {
            0,
            steps - 1,
            *(
                int(steps ** (k / max(args.checkpoints - 1, 1))) - 1
                for k in range(args.checkpoints)
            ),
        }
    )
    print(
        f"{'store size':>10} {'with link s':>11} {'without s':>9} {'link s/10k':>10} {'ratio':>6} "
        f"{'rss MiB':>8} {'db MiB':>7}"
    )
    loaded = 0
    for step in range(steps):
        ads = make_ads(loaded, args.step, rng, templates)
        if step in measured:
            with_link = upsert(linked, ads, True)
            without = upsert(plain, ads, False)
            per_10k = (with_link - without) * 10_000 / args.step
            size = size_mib()
            print(
                f"{loaded:>10} {with_link:>11.2f} {without:>9.2f} {per_10k:>10.2f} "
                f"{with_link / without:>6.2f} {rss_mib():>8.0f} {size:>7.0f}",
                flush=True,
            )
        else:
            upsert(linked, ads, True)
            upsert(plain, ads, False)
        loaded += args.step
    nets = linked.largest_networks(limit=3, active_days=100_000)
    generic = linked.generic_identifiers()
    print(
        f"largest networks: {[(n['network_id'], n['ads']) for n in nets]}; generic identifiers: "
        f"{len(generic)} ({', '.join(g['key'] for g in generic[:3])}); peak rss {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"
    )
    if args.store:
        for store, prefix in ((linked, f"nl{tag}"), (plain, f"np{tag}")):
            store.client.request("DELETE", f"/{prefix}-*")  # type: ignore[attr-defined]
    linked.close()
    plain.close()


if __name__ == "__main__":
    main()
