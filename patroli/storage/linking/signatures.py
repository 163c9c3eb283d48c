"""MinHash signatures of ads' templates and the LSH band keys that find near-duplicates.

``datasketch`` computes the MinHash of an ad's shingles (``patroli.text.templates``) and picks the
number of bands and rows for the similarity threshold (its false-positive/false-negative optimum).
The bands are not kept in an in-memory ``MinHashLSH``: each band's key is stored with the ad, in the
store itself (a table in SQLite, a keyword field on the engines), so that the index survives
restarts, is shared by every process that writes, and costs no start-up time. A candidate that shares
a band is then checked on the estimated Jaccard similarity of the two signatures.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from datasketch import MinHash, MinHashLSH

from patroli.text.templates import SHINGLE_KIND, SHINGLE_SIZE, shingles

NUM_PERM = 64
SEED = 1


@dataclass(frozen=True, slots=True)
class Banding:
    threshold: float
    bands: int
    rows: int

    def keys(self, signature: bytes) -> list[int]:
        """One signed 64-bit key per band (the band's index is part of what is hashed)."""
        keys = []
        width = self.rows * 4
        for band in range(self.bands):
            chunk = signature[band * width : (band + 1) * width]
            digest = hashlib.blake2b(band.to_bytes(2, "little") + chunk, digest_size=8).digest()
            keys.append(int.from_bytes(digest, "little", signed=True))
        return keys


@lru_cache(maxsize=16)
def banding(threshold: float, num_perm: int = NUM_PERM) -> Banding:
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    return Banding(threshold, int(lsh.b), int(lsh.r))


def signature_of_shingles(found: Iterable[str], num_perm: int = NUM_PERM) -> bytes | None:
    encoded = [s.encode("utf-8") for s in found]
    if not encoded:
        return None
    minhash = MinHash(num_perm=num_perm, seed=SEED)
    minhash.update_batch(encoded)
    return minhash.hashvalues.astype("<u4").tobytes()


def signature(
    text: str, kind: str = SHINGLE_KIND, size: int = SHINGLE_SIZE, num_perm: int = NUM_PERM
) -> bytes | None:
    """The MinHash signature (``num_perm`` little-endian uint32) of a text, None for no text."""
    return signature_of_shingles(shingles(text, kind, size), num_perm)


def signatures(
    texts: Sequence[str],
    kind: str = SHINGLE_KIND,
    size: int = SHINGLE_SIZE,
    num_perm: int = NUM_PERM,
) -> list[bytes | None]:
    """The signatures of many texts at once: ``MinHash.bulk`` draws the permutations once per batch
    instead of once per text (the same values as ``signature``)."""
    sets = [[s.encode("utf-8") for s in shingles(t, kind, size)] for t in texts]
    present = [i for i, found in enumerate(sets) if found]
    found: list[bytes | None] = [None] * len(texts)
    if present:
        hashes = MinHash.bulk([sets[i] for i in present], num_perm=num_perm, seed=SEED)
        for i, minhash in zip(present, hashes, strict=True):
            found[i] = minhash.hashvalues.astype("<u4").tobytes()
    return found


def similarity(a: bytes, b: bytes) -> float:
    """The estimated Jaccard similarity of two signatures (the share of equal hash values)."""
    left = np.frombuffer(a, dtype="<u4")
    right = np.frombuffer(b, dtype="<u4")
    if left.size != right.size or not left.size:
        return 0.0
    return float(np.count_nonzero(left == right)) / left.size
