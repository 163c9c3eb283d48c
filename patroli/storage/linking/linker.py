"""Template clusters and recruiter networks, maintained incrementally as ads are stored.

Clusters: an ad joins every cluster holding a near-duplicate of it (an LSH band candidate whose
estimated Jaccard similarity reaches the threshold); clusters it bridges merge (single link). The
merged cluster keeps the id of the largest, and a decision taken for any of them.

Networks: the connected components of the graph of ads and what links them — their identifiers
(phones and WhatsApp numbers in E.164, Telegram handles, e-mails, bank accounts; ``IDENTIFIER_FIELDS``)
and their template cluster. An identifier carried by ads of more than ``generic_clusters`` distinct
clusters is marked generic (a hotline, a platform's own number) and links nothing: without that guard
one public number would make one giant component of everything.

Adding is a union (merging keeps the largest component's id and relabels the smaller ones: each ad
is relabelled O(log n) times). An ad that changes, leaves or makes an identifier generic can split
what it held together: those components are recomputed from their members alone.

The LSH index holds at most ``BUCKET_CAP`` ads of one cluster under one band key. Joining a cluster
needs one similar member (single link), and the members that share a band are alike in it, so a
template reposted 100,000 times costs a new repost what one reposted ten times does: without the cap
every repost was compared with every earlier one (linking time grew with the largest cluster).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from patroli.images.bands import best_match
from patroli.storage.base import Record
from patroli.storage.flyers import flyer_probes
from patroli.storage.linking.backend import (
    FLYER,
    AdLinks,
    LinkBackend,
    identifier_key,
    identifiers_of,
)
from patroli.storage.linking.signatures import NUM_PERM, banding, signatures, similarity
from patroli.storage.schema import now
from patroli.text.templates import SHINGLE_KIND, SHINGLE_SIZE, template_text


class UnionFind:
    def __init__(self) -> None:
        self.parent: dict[Hashable, Hashable] = {}

    def find(self, item: Hashable) -> Hashable:
        parent = self.parent.setdefault(item, item)
        if parent == item:
            return item
        root = self.find(parent)
        self.parent[item] = root
        return root

    def union(self, a: Hashable, b: Hashable) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[ra] = rb

    def groups(self) -> list[list[Hashable]]:
        found: dict[Hashable, list[Hashable]] = defaultdict(list)
        for item in list(self.parent):
            found[self.find(item)].append(item)
        return list(found.values())


BUCKET_CAP = 6
FLYER_CANDIDATES = 200  # same-flyer candidates verified per batch and image orientation
# A flyer is an image with text: the letters and digits OCR must have read in an image for it to
# link networks. Two plain photos (sky, hills) can be as close in pHash/dHash as a flyer and its
# cropped copy; text tells a flyer from a photo. With OCR off no image links networks.
FLYER_MIN_TEXT = 12


def _short(prefix: str, seed: str) -> str:
    return prefix + hashlib.sha256(seed.encode()).hexdigest()[:12]


def _with_text(images: Any) -> list[Mapping[str, Any]]:
    """The images OCR read some text in (``FLYER_MIN_TEXT`` letters and digits): flyers."""
    return [
        image
        for image in images or ()
        if sum(c.isalnum() for c in str(image.get("ocr_text") or "")) >= FLYER_MIN_TEXT
    ]


def _new_only(groups: list[list[Hashable]]) -> list[list[str]]:
    """The ad ids of the groups made of new ads only (nodes ``("ad", id)``): they need new ids."""
    found = []
    for group in groups:
        nodes = [cast("tuple[str, str]", node) for node in group]
        if all(kind == "ad" for kind, _ in nodes):
            found.append([ad_id for _, ad_id in nodes])
    return found


@dataclass(slots=True)
class LinkSettings:
    threshold: float = 0.4
    generic_clusters: int = 6
    shingle_kind: str = SHINGLE_KIND
    shingle_size: int = SHINGLE_SIZE


@dataclass(slots=True)
class LinkReport:
    linked: int = 0
    clusters_merged: int = 0
    networks_merged: int = 0
    split: int = 0
    generic: int = 0


class Linker:
    """Runs over one ``LinkBackend``; stateless between calls (everything is in the store)."""

    def __init__(self, backend: LinkBackend, settings: LinkSettings | None = None) -> None:
        self.backend = backend
        self.settings = settings or LinkSettings()
        self.banding = banding(self.settings.threshold, NUM_PERM)
        self._issued: set[str] = set()  # ids given out in this run (not all saved yet)
        self._in_use: dict[str, bool] = {}  # ids looked up in the store in this run

    def _fresh(self, prefix: str, ad_ids: Iterable[str]) -> str:
        """A new component's id, named after its smallest ad id (the same on every backend for the
        same history) and never one in use: an ad that named a component may leave it."""
        candidate = _short(prefix, min(ad_ids))
        while candidate in self._issued or self._used(prefix, [candidate])[candidate]:
            candidate = _short(prefix, candidate)
        self._issued.add(candidate)
        return candidate

    def _used(self, prefix: str, candidates: Sequence[str]) -> dict[str, bool]:
        """Whether ids are in use, asking the store once for all those not asked before (a batch of
        new components costs one request, not one each)."""
        unknown = [c for c in candidates if c not in self._in_use]
        if unknown:
            sizes = self.backend.cluster_sizes if prefix == "c-" else self.backend.network_sizes
            found = sizes(unknown)
            self._in_use.update({c: bool(found.get(c)) for c in unknown})
        return {c: self._in_use[c] for c in candidates}

    def _prefetch(self, prefix: str, seeds: Iterable[Sequence[str]]) -> None:
        """Look up at once the ids that ``_fresh`` will try first for these groups of ads."""
        self._used(prefix, [_short(prefix, min(ads)) for ads in seeds if ads])

    # --- entry points -----------------------------------------------------------------------

    def link(self, records: Sequence[Mapping[str, Any]]) -> LinkReport:
        """Place new or changed ads (store records with title, text and identifier fields)."""
        report = LinkReport()
        texts = [template_text(r.get("title"), r.get("text")) for r in records]
        sigs = signatures(texts, self.settings.shingle_kind, self.settings.shingle_size)
        fresh: dict[str, AdLinks] = {}
        for record, sig in zip(records, sigs, strict=True):
            fresh[str(record["ad_id"])] = AdLinks(
                ad_id=str(record["ad_id"]),
                signature=sig,
                bands=self.banding.keys(sig) if sig else [],
                identifiers=identifiers_of(record),
            )
        self._flyer_families(records, fresh)
        old = self.backend.links_of(list(fresh))
        changed = {
            ad_id: links
            for ad_id, links in fresh.items()
            if ad_id not in old
            or old[ad_id].signature != links.signature
            or set(old[ad_id].identifiers) != set(links.identifiers)
            or not old[ad_id].cluster_id
            or not old[ad_id].network_id
        }
        if not changed:
            return report
        report.linked = len(changed)
        dirty_clusters = {
            old[a].cluster_id
            for a in changed
            if a in old and old[a].cluster_id and old[a].signature != changed[a].signature
        }
        dirty_networks = {old[a].network_id for a in changed if a in old and old[a].network_id}
        merged_into = self._place_in_clusters(changed, old, report)
        dirty_clusters = {merged_into.get(c, c) for c in dirty_clusters}
        for cluster_id in sorted(dirty_clusters):
            report.split += self._recluster(cluster_id)
        self._place_in_networks(changed, old, dirty_networks, report)
        return report

    def _flyer_families(
        self, records: Sequence[Mapping[str, Any]], fresh: Mapping[str, AdLinks]
    ) -> None:
        """Add a ``flyer:`` key per flyer family to the ads showing a flyer: the family key of the
        stored (or earlier in this batch) ads showing the same flyer, or, for a flyer first seen,
        one named after its image's sha256. Generic-identifier rules apply to it like to a phone."""
        probes_of = {str(r["ad_id"]): flyer_probes(_with_text(r.get("images"))) for r in records}
        probes_of = {a: p for a, p in probes_of.items() if p[0]}
        if not probes_of:
            return
        key_sets = [keys for _probes, sets in probes_of.values() for keys in sets]
        candidates = self.backend.flyer_candidates(key_sets, FLYER_CANDIDATES)
        stored = {a: i for a, i in candidates.items() if a not in probes_of}
        families = {
            a: [k for k in links.identifiers if k.startswith(FLYER + ":")]
            for a, links in self.backend.links_of(sorted(stored)).items()
        }
        seen: dict[str, list[Record]] = {}  # this batch's ads already given families
        for ad_id, (probes, _keys) in probes_of.items():
            found: set[str] = set()
            for other, images in [*stored.items(), *seen.items()]:
                if families.get(other) and best_match(probes, images) is not None:
                    found.update(families[other])
            if not found:
                found = {identifier_key(FLYER, str(probes[0].get("sha256") or ad_id))}
            families[ad_id] = sorted(found)
            seen[ad_id] = [dict(p) for p in probes]
            links = fresh[ad_id]
            links.identifiers = [
                *links.identifiers,
                *(k for k in families[ad_id] if k not in links.identifiers),
            ]

    def unlink(self, ad_ids: Sequence[str]) -> LinkReport:
        """Take ads out of their clusters and networks (and split what they alone held together)."""
        report = LinkReport()
        old = self.backend.links_of(ad_ids)
        if not old:
            return report
        self.backend.delete_links(list(old))
        for cluster_id in sorted({links.cluster_id for links in old.values() if links.cluster_id}):
            report.split += self._recluster(cluster_id)
        for network_id in sorted({links.network_id for links in old.values() if links.network_id}):
            report.split += self._renetwork(network_id)
        return report

    def relink_all(self, batch_size: int = 500) -> LinkReport:
        """Link every ad again from its stored text and identifiers (after an upgrade, or to repair)."""
        total = LinkReport()
        ad_ids = self.backend.all_ad_ids()
        for start in range(0, len(ad_ids), batch_size):
            report = self.link(self.backend.link_inputs(ad_ids[start : start + batch_size]))
            total.linked += report.linked
            total.clusters_merged += report.clusters_merged
            total.networks_merged += report.networks_merged
            total.split += report.split
            total.generic += report.generic
        return total

    # --- clusters ---------------------------------------------------------------------------

    def _place_in_clusters(
        self, changed: dict[str, AdLinks], old: Mapping[str, AdLinks], report: LinkReport
    ) -> dict[str, str]:
        """Assign each changed ad a cluster, merging the clusters it bridges; return merged -> kept."""
        keys = {key for links in changed.values() for key in links.bands}
        stored = {a: v for a, v in self.backend.band_candidates(keys).items() if a not in changed}
        by_band: dict[int, list[str]] = defaultdict(list)
        for pool in (stored, changed):
            for ad_id, links in pool.items():
                for key in links.bands:
                    if key in keys:
                        by_band[key].append(ad_id)
        uf = UnionFind()

        def node(ad_id: str) -> tuple[str, str]:
            return ("ad", ad_id) if ad_id in changed else ("cluster", stored[ad_id].cluster_id)

        for ad_id, links in changed.items():
            me = ("ad", ad_id)
            uf.find(me)
            if links.signature is None:
                continue
            seen: set[str] = {ad_id}
            for key in links.bands:
                tried: dict[Hashable, int] = defaultdict(int)  # component -> members compared
                for other in by_band[key]:
                    if other in seen:
                        continue
                    theirs = changed[other] if other in changed else stored[other]
                    if theirs.signature is None or (other not in changed and not theirs.cluster_id):
                        continue
                    component = uf.find(node(other))
                    if component == uf.find(me) or tried[component] >= BUCKET_CAP:
                        continue  # one similar member is enough; a bucket's members are alike
                    seen.add(other)
                    tried[component] += 1
                    if similarity(links.signature, theirs.signature) >= self.settings.threshold:
                        uf.union(me, node(other))
        groups = uf.groups()
        existing = {
            str(n[1]) for g in groups for n in g if isinstance(n, tuple) and n[0] == "cluster"
        }
        sizes = self.backend.cluster_sizes(existing) if existing else {}
        self._prefetch("c-", _new_only(groups))
        merged_into: dict[str, str] = {}
        relabel: dict[str, str] = {}
        for group in groups:
            clusters = sorted(str(n[1]) for n in group if n[0] == "cluster")  # type: ignore[index]
            ads = [str(n[1]) for n in group if n[0] == "ad"]  # type: ignore[index]
            if clusters:
                target = max(clusters, key=lambda c: (sizes.get(c, 0), -clusters.index(c)))
            else:
                target = self._fresh("c-", ads)
            for ad_id in ads:
                changed[ad_id].cluster_id = target
            for absorbed in clusters:
                if absorbed != target:
                    merged_into[absorbed] = target
                    for member in self.backend.cluster_members(absorbed):
                        relabel[member.ad_id] = target
        for links in changed.values():
            links.network_id = ""  # placed in a network below
        indexed: dict[tuple[int, str], int] = defaultdict(int)
        for stored_links in stored.values():
            cluster_id = merged_into.get(stored_links.cluster_id, stored_links.cluster_id)
            for key in stored_links.bands:
                indexed[key, cluster_id] += 1
        for links in changed.values():
            links.bands = self._capped(links.bands, links.cluster_id, indexed)
        self.backend.save_links(list(changed.values()))
        if relabel:
            self.backend.set_clusters(relabel)
        inherited: set[str] = set()
        if merged_into:
            report.clusters_merged += len(merged_into)
            inherited = self._merge_cluster_records(merged_into)
        joined = {links.ad_id: links.cluster_id for links in changed.values()} | relabel
        self._apply_cluster_status(joined, inherited)
        return merged_into

    @staticmethod
    def _capped(keys: list[int], cluster_id: str, indexed: dict[tuple[int, str], int]) -> list[int]:
        """The band keys an ad is indexed under: those where its cluster has fewer than
        ``BUCKET_CAP`` ads (``indexed`` counts them and is updated)."""
        kept = []
        for key in keys:
            if indexed[key, cluster_id] < BUCKET_CAP:
                indexed[key, cluster_id] += 1
                kept.append(key)
        return kept

    def _merge_cluster_records(self, merged_into: Mapping[str, str]) -> set[str]:
        """Mark the absorbed clusters merged; return the kept clusters that inherited a decision."""
        records = self.backend.cluster_records([*merged_into, *merged_into.values()])
        updates: list[Record] = []
        inherited: set[str] = set()
        for absorbed, target in merged_into.items():
            kept = records.get(target) or {"cluster_id": target}
            gone = records.get(absorbed) or {"cluster_id": absorbed}
            if gone.get("decision") and not kept.get("decision"):
                kept = {
                    **kept,
                    **{k: gone.get(k) for k in ("decision", "decided_by", "decided_at", "note")},
                }
                records[target] = kept
                inherited.add(target)
            updates.append({**gone, "merged_into": target})
        updates += [records[t] for t in set(merged_into.values()) if t in records]
        self.backend.put_cluster_records(updates)
        return inherited

    def _apply_cluster_status(self, joined: Mapping[str, str], inherited: set[str]) -> None:
        """Give the ads that joined a decided cluster its decision (the members already there have
        it), and every member of a cluster that inherited a decision in a merge."""
        decided = {
            cid: str(rec.get("decision") or "")
            for cid, rec in self.backend.cluster_records(set(joined.values())).items()
            if rec.get("decision")
        }
        assignments = {ad: decided[c] for ad, c in joined.items() if c in decided}
        for cluster_id in inherited & set(decided):
            for member in self.backend.cluster_members(cluster_id):
                assignments[member.ad_id] = decided[cluster_id]
        if assignments:
            self.backend.set_cluster_status(assignments)

    def _recluster(self, cluster_id: str) -> int:
        """Recompute one cluster's components from its members; return how many pieces split off."""
        members = {m.ad_id: m for m in self.backend.cluster_members(cluster_id)}
        if len(members) < 2:
            return 0
        uf = UnionFind()
        keys: dict[str, list[int]] = {}
        by_band: dict[int, list[str]] = defaultdict(list)
        for ad_id in sorted(members):
            uf.find(ad_id)
            signature = members[ad_id].signature
            keys[ad_id] = self.banding.keys(signature) if signature else []
            for key in keys[ad_id]:  # all its keys: the index holds only a few per cluster
                by_band[key].append(ad_id)
        for ad_ids in by_band.values():
            self._union_bucket(ad_ids, members, uf)
        groups = sorted(uf.groups(), key=lambda g: (-len(g), min(map(str, g))))
        relabel: dict[str, str] = {}
        for group in groups[1:]:
            ids = [str(a) for a in group]
            target = self._fresh("c-", ids)
            for ad_id in ids:
                relabel[ad_id] = target
                members[ad_id].cluster_id = target
        self._reindex(members, keys)
        if not relabel:
            return 0
        self.backend.set_clusters(relabel)
        # The pieces that split off leave the cluster's decision behind (they are no longer alike).
        self.backend.set_cluster_status(dict.fromkeys(relabel, ""))
        self._renetwork_many({m.network_id for m in members.values() if m.network_id})
        return len(groups) - 1

    def _union_bucket(
        self, ad_ids: list[str], members: Mapping[str, AdLinks], uf: UnionFind
    ) -> None:
        """Join the ads of one LSH bucket that are similar, comparing each with at most
        ``BUCKET_CAP`` members of every component met so far in the bucket."""
        samples: dict[Hashable, list[str]] = {}
        for ad_id in ad_ids:
            mine = members[ad_id].signature
            if not mine:
                continue
            for root, tried in list(samples.items()):
                if uf.find(root) == uf.find(ad_id):
                    continue
                for other in tried:
                    theirs = members[other].signature
                    if theirs and similarity(mine, theirs) >= self.settings.threshold:
                        uf.union(ad_id, root)
                        break
            regrouped: dict[Hashable, list[str]] = defaultdict(list)
            for root, tried in samples.items():
                regrouped[uf.find(root)] += tried
            own = regrouped[uf.find(ad_id)]
            if len(own) < BUCKET_CAP:
                own.append(ad_id)
            samples = {root: tried[:BUCKET_CAP] for root, tried in regrouped.items()}

    def _reindex(self, members: Mapping[str, AdLinks], keys: Mapping[str, list[int]]) -> None:
        """Index the members of a reclustered cluster again (a split piece, or a bucket whose indexed
        members left, gets indexed members); only the ads whose keys change are written."""
        indexed: dict[tuple[int, str], int] = defaultdict(int)
        rewrite: list[AdLinks] = []
        # Those indexed already keep their places first: fewer writes.
        for ad_id in sorted(members, key=lambda a: (not members[a].bands, a)):
            links = members[ad_id]
            kept = self._capped(keys[ad_id], links.cluster_id, indexed)
            if sorted(kept) != sorted(links.bands):
                links.bands = kept
                rewrite.append(links)
        if rewrite:
            self.backend.save_links(rewrite)

    # --- networks ---------------------------------------------------------------------------

    def _place_in_networks(
        self,
        changed: dict[str, AdLinks],
        old: Mapping[str, AdLinks],
        dirty: set[str],
        report: LinkReport,
    ) -> None:
        touched = {k for links in changed.values() for k in links.identifiers}
        touched |= {k for a in changed if a in old for k in old[a].identifiers}
        known_generic = self.backend.generic_identifiers(touched) if touched else {}
        unknown = touched - set(known_generic)  # a generic one stays generic: no need to count
        counts = self.backend.identifier_cluster_counts(unknown) if unknown else {}
        newly = {
            k: n
            for k, n in counts.items()
            if n > self.settings.generic_clusters and k not in known_generic
        }
        if newly:
            self.backend.mark_generic(newly, now())
            report.generic += len(newly)
            for networks in self.backend.networks_of_identifiers(newly).values():
                dirty |= networks
        generic = set(known_generic) | set(newly)
        links_by_id = {
            k: v
            for k, v in ((k, v) for k, v in self._current_identifiers(changed).items())
            if k not in generic
        }
        clusters = {links.cluster_id for links in changed.values() if links.cluster_id}
        nets_of_cluster = self.backend.networks_of_clusters(clusters) if clusters else {}
        nets_of_key = self.backend.networks_of_identifiers(links_by_id) if links_by_id else {}
        uf = UnionFind()
        for ad_id, links in changed.items():
            me = ("ad", ad_id)
            uf.find(me)
            for network_id in nets_of_cluster.get(links.cluster_id, ()):
                uf.union(me, ("net", network_id))
            for key in links.identifiers:
                if key in generic:
                    continue
                for network_id in nets_of_key.get(key, ()):
                    uf.union(me, ("net", network_id))
                for other in links_by_id.get(key, ()):
                    uf.union(me, ("ad", other))
        by_cluster: dict[str, list[str]] = defaultdict(list)
        for ad_id, links in changed.items():
            by_cluster[links.cluster_id].append(ad_id)
        for ad_ids in by_cluster.values():
            for other in ad_ids[1:]:
                uf.union(("ad", ad_ids[0]), ("ad", other))
        groups = uf.groups()
        existing = {str(n[1]) for g in groups for n in g if n[0] == "net"}  # type: ignore[index]
        sizes = self.backend.network_sizes(existing) if existing else {}
        self._prefetch("n-", _new_only(groups))
        assign: dict[str, str] = {}
        merged: dict[str, str] = {}
        for group in groups:
            nets = sorted(str(n[1]) for n in group if n[0] == "net")  # type: ignore[index]
            ads = [str(n[1]) for n in group if n[0] == "ad"]  # type: ignore[index]
            if nets:
                target = max(nets, key=lambda n: (sizes.get(n, 0), -nets.index(n)))
            else:
                target = self._fresh("n-", ads)
            for ad_id in ads:
                assign[ad_id] = target
            for absorbed in nets:
                if absorbed != target:
                    merged[absorbed] = target
                    for member in self.backend.network_members(absorbed):
                        assign[member.ad_id] = target
        self.backend.set_networks(assign)
        if merged:
            # Kept like a cluster's merge (the ids' prefixes keep them apart), so that an id a case
            # or a bookmark holds leads to the network its ads went into.
            self.backend.put_cluster_records(
                [{"cluster_id": gone, "merged_into": kept} for gone, kept in merged.items()]
            )
        report.networks_merged += len(merged)
        report.split += self._renetwork_many({merged.get(n, n) for n in dirty})

    def _current_identifiers(self, changed: Mapping[str, AdLinks]) -> dict[str, list[str]]:
        """identifier key -> the changed ads carrying it (they have no network yet)."""
        found: dict[str, list[str]] = defaultdict(list)
        for ad_id, links in changed.items():
            for key in links.identifiers:
                found[key].append(ad_id)
        return found

    def _renetwork_many(self, network_ids: set[str]) -> int:
        return sum(self._renetwork(n) for n in sorted(network_ids) if n)

    def _renetwork(self, network_id: str) -> int:
        """Recompute one network's components from its members; return how many split off."""
        members = self.backend.network_members(network_id)
        if len(members) < 2:
            return 0
        keys = {k for m in members for k in m.identifiers}
        generic = set(self.backend.generic_identifiers(keys)) if keys else set()
        uf = UnionFind()
        for member in members:
            uf.find(("ad", member.ad_id))
            if member.cluster_id:
                uf.union(("ad", member.ad_id), ("cluster", member.cluster_id))
            for key in member.identifiers:
                if key not in generic:
                    uf.union(("ad", member.ad_id), ("id", key))
        groups = [
            [str(n[1]) for n in g if n[0] == "ad"]  # type: ignore[index]
            for g in uf.groups()
        ]
        groups = sorted((g for g in groups if g), key=lambda g: (-len(g), min(g)))
        if len(groups) == 1:
            return 0
        relabel = {}
        for group in groups[1:]:
            target = self._fresh("n-", group)
            relabel.update(dict.fromkeys(group, target))
        self.backend.set_networks(relabel)
        return len(groups) - 1
