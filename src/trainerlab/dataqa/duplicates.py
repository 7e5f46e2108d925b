"""Exact and near duplicates of texts.

* **Exact duplicates**: texts equal after :func:`~trainerlab.dataqa.shingles.normalize_text`
  (Unicode NFKC, case folding, punctuation and whitespace removed), grouped by a 64-bit hash.
* **Near duplicates**: MinHash signatures of token n-gram shingles (Broder 1997),
  banded locality-sensitive hashing with the band/row split that minimises the
  weighted false-positive and false-negative areas under the S-curve for the
  chosen Jaccard threshold (Leskovec, Rajaraman and Ullman, *Mining of Massive
  Datasets*, ch. 3), candidate pairs verified on the shingle sets (or the signature
  estimate), groups as connected components. Written with numpy.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .. import pii as _pii
from .intervals import _rate
from .shingles import _mix64, _ngram_hashes, _normalize_many, _token_arrays, normalize_text


# -- exact duplicates -----------------------------------------------------------------------------------
def _ids(ids, n: int) -> np.ndarray:
    if ids is None:
        return np.arange(n)
    arr = np.asarray(list(ids), dtype=object)
    if len(arr) != n:
        raise ValueError(f"ids has {len(arr)} entries for {n} texts")
    return arr


def exact_duplicates(texts: Sequence[Any], ids: Sequence[Any] | None = None) -> pd.DataFrame:
    """Rows grouped by their normalised text.

    Returns
    -------
    DataFrame with one row per input row: ``row`` (0-based position), ``id``,
    ``group`` (the row position of the first row with the same normalised text),
    ``group_size``, ``is_duplicate`` (not the first of its group) and ``empty``
    (nothing left after normalisation; empty texts are not counted as duplicates).
    """
    texts = list(texts)
    normalized = _normalize_many(texts)
    codes, _ = pd.factorize(pd.Series(normalized, dtype=object))
    return _exact_frame(codes, np.array([not t for t in normalized], dtype=bool), _ids(ids, len(texts)))


def _exact_frame(codes: np.ndarray, empty: np.ndarray, ids: np.ndarray) -> pd.DataFrame:
    """codes: equal for equal normalised texts (pd.factorize, exact, no hash collisions)."""
    n = len(codes)
    first_of_code = np.full(int(codes.max()) + 1 if n else 0, n, dtype=np.int64)
    np.minimum.at(first_of_code, codes, np.arange(n))
    first = np.where(empty, np.arange(n), first_of_code[codes] if n else np.zeros(0, dtype=np.int64))
    size = np.bincount(first, minlength=n)[first] if n else np.zeros(0, dtype=np.int64)
    return pd.DataFrame(
        {
            "row": np.arange(n),
            "id": ids,
            "group": first,
            "group_size": size,
            "is_duplicate": first != np.arange(n),
            "empty": empty,
        }
    )


# -- MinHash + LSH ------------------------------------------------------------------------------------
def _s_curve(s: np.ndarray, bands: int, rows: int) -> np.ndarray:
    return 1.0 - (1.0 - s**rows) ** bands


def lsh_params(threshold: float, num_perm: int, recall: float = 0.95) -> tuple[int, int]:
    """(bands, rows) with bands*rows <= num_perm for a near-duplicate search at ``threshold``.

    Two sets with Jaccard similarity s share a bucket in at least one band with
    probability P(s) = 1 - (1 - s^r)^b (Leskovec, Rajaraman, Ullman, *Mining of
    Massive Datasets*, 3.4.2). Candidates are verified afterwards, so a false
    positive costs only time while a false negative is a missed duplicate: among
    the splits with P(threshold) >= ``recall`` this picks the one with the smallest
    false-positive area (the integral of P over [0, threshold]); if none reaches
    ``recall``, the split with the largest P(threshold).
    """
    if not 0 < threshold < 1:
        raise ValueError(f"threshold must be in (0, 1), got {threshold}")
    lo = np.linspace(0.0, threshold, 201)
    best, best_key = (1, num_perm), (math.inf, math.inf)
    for b in range(1, num_perm + 1):
        r = num_perm // b
        if r < 1:
            break
        p_at = float(_s_curve(np.array(threshold), b, r))
        fp_area = float(np.trapezoid(_s_curve(lo, b, r), lo))
        key = (0.0, fp_area) if p_at >= recall else (1.0, -p_at)
        if key < best_key:
            best, best_key = (b, r), key
    return best


class MinHashLSH:
    """Near-duplicate detection with MinHash signatures and banded LSH.

    Parameters
    ----------
    threshold : float
        Jaccard similarity of the shingle sets at or above which two texts are
        near duplicates.
    num_perm : int
        Hash functions per signature (the estimate's standard error is about
        sqrt(J(1-J)/num_perm)).
    ngram : int
        Shingle length in tokens (words, or characters with ``unit="char"``).
    unit : {"word", "char"}
    seed : int
        Seeds the hash functions; same seed, same signatures.
    recall : float
        Probability that a pair exactly at the threshold becomes a candidate (see
        :func:`lsh_params`); pairs above it are found more often.
    verify : {"exact", "estimate"}
        How candidate pairs are confirmed (see :meth:`fit`).

    Attributes (after ``fit``)
    --------------------------
    signatures_ : (n, num_perm) uint32 array; rows of texts without tokens are all 2**32-1
    has_shingles_ : bool array
    bands_, rows_ : the LSH split
    pairs_ : DataFrame ``a``, ``b`` (positions, a < b), ``jaccard`` (exact; NaN with
        ``verify="estimate"``), ``jaccard_est``: the verified pairs
    n_candidates_ : candidate pairs before verification
    labels_ : component label per text (the smallest position in its group)
    """

    def __init__(
        self,
        threshold: float = 0.7,
        num_perm: int = 128,
        ngram: int = 3,
        unit: str = "word",
        seed: int = 7,
        recall: float = 0.95,
        chunk_size: int = 20000,
        max_bucket: int = 24,
        verify: str = "exact",
    ):
        if verify not in ("exact", "estimate"):
            raise ValueError(f"verify must be 'exact' or 'estimate', got {verify!r}")
        self.verify = verify
        if unit not in ("word", "char"):
            raise ValueError(f"unit must be 'word' or 'char', got {unit!r}")
        if ngram < 1 or num_perm < 2:
            raise ValueError("ngram must be >= 1 and num_perm >= 2")
        self.threshold, self.num_perm, self.ngram, self.unit, self.seed = threshold, num_perm, ngram, unit, seed
        self.recall, self.chunk_size, self.max_bucket = recall, chunk_size, max_bucket
        rng = np.random.default_rng(seed)
        # h_p(x) = a_p * x + b_p mod 2**32 with a_p odd: a permutation of the 32-bit shingle ids
        # (x is the top half of a splitmix64-mixed n-gram hash); uint32 arithmetic keeps numpy fast.
        self._a = rng.integers(0, 2**31, size=num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
        self._b = rng.integers(0, 2**32, size=num_perm, dtype=np.uint32)
        self.bands_, self.rows_ = lsh_params(threshold, num_perm, recall)
        self._band_mult = rng.integers(0, 2**63, size=self.rows_, dtype=np.uint64) * np.uint64(2) + np.uint64(1)

    # -- signatures --
    def signatures(self, normalized: Sequence[str], keep_shingles: bool = False):
        """MinHash signatures of already-normalised texts, and which texts had shingles.

        With ``keep_shingles`` also returns each text's shingles (concatenated, repeats
        included) and their offsets, for exact Jaccard verification.
        """
        n = len(normalized)
        sig = np.full((n, self.num_perm), np.iinfo(np.uint32).max, dtype=np.uint32)
        has = np.zeros(n, dtype=bool)
        kept, kept_counts = [], []
        for lo in range(0, n, self.chunk_size):
            chunk = normalized[lo : lo + self.chunk_size]
            toks, lengths = _token_arrays(chunk, self.unit)
            shingles, counts = _ngram_hashes(toks, lengths, self.ngram)
            if keep_shingles:  # raw shingles; _pair_jaccard dedupes the few documents it compares
                kept.append(shingles)
                kept_counts.append(counts)
            docs = np.flatnonzero(counts > 0)
            if not len(docs):
                continue
            starts = np.zeros(len(counts), dtype=np.int64)
            np.cumsum(counts[:-1], out=starts[1:])
            starts = starts[docs]
            has[lo + docs] = True
            x = (shingles >> np.uint64(32)).astype(np.uint32)
            block = np.empty((self.num_perm, len(docs)), dtype=np.uint32)
            v = np.empty_like(x)
            with np.errstate(over="ignore"):
                for p in range(self.num_perm):  # one contiguous pass per hash function
                    np.multiply(x, self._a[p], out=v)
                    v += self._b[p]
                    block[p] = np.minimum.reduceat(v, starts)
            sig[lo + docs] = block.T
        if keep_shingles:
            counts = np.concatenate(kept_counts) if kept_counts else np.zeros(0, dtype=np.int64)
            offsets = np.zeros(n + 1, dtype=np.int64)
            np.cumsum(counts, out=offsets[1:])
            flat = np.concatenate(kept) if kept else np.zeros(0, dtype=np.uint64)
            return sig, has, flat, offsets
        return sig, has

    # -- LSH --
    def _band_keys(self, sig: np.ndarray, band: int) -> np.ndarray:
        """One uint64 per text for the band's rows: a random odd linear combination, mixed."""
        cols = sig[:, band * self.rows_ : (band + 1) * self.rows_]
        key = np.zeros(len(sig), dtype=np.uint64)
        with np.errstate(over="ignore"):
            for j in range(cols.shape[1]):
                key += cols[:, j].astype(np.uint64) * self._band_mult[j]
        return _mix64(key)

    def candidate_pairs(self, sig: np.ndarray, has: np.ndarray) -> np.ndarray:
        """Unique (a, b) position pairs sharing a bucket in at least one band."""
        idx = np.flatnonzero(has)
        if len(idx) < 2:
            return np.zeros((0, 2), dtype=np.int64)
        pair_codes = []
        n_total = np.int64(len(sig))
        sub = sig if len(idx) == len(sig) else sig[idx]
        for band in range(self.bands_):
            keys = self._band_keys(sub, band)
            order = np.argsort(keys, kind="stable")
            sk = keys[order]
            bounds = np.flatnonzero(np.concatenate(([True], sk[1:] != sk[:-1], [True])))
            sizes = np.diff(bounds)
            starts = bounds[:-1]
            for size in np.unique(sizes[sizes >= 2]):
                sel = starts[sizes == size]
                members = idx[order[sel[:, None] + np.arange(size)[None, :]]]  # (n_buckets, size)
                if size <= self.max_bucket:
                    ia, ib = np.triu_indices(size, k=1)
                else:  # a star to the first member plus a chain keeps big buckets linear
                    ia = np.concatenate((np.zeros(size - 1, dtype=np.int64), np.arange(1, size - 1)))
                    ib = np.concatenate((np.arange(1, size), np.arange(2, size)))
                a, b = members[:, ia].ravel(), members[:, ib].ravel()
                lo_, hi_ = np.minimum(a, b), np.maximum(a, b)
                pair_codes.append(lo_.astype(np.int64) * n_total + hi_)
        if not pair_codes:
            return np.zeros((0, 2), dtype=np.int64)
        codes = np.unique(np.concatenate(pair_codes))
        return np.stack((codes // n_total, codes % n_total), axis=1)

    def fit(self, texts: Sequence[Any], normalized: bool = False) -> MinHashLSH:
        """Signatures, LSH candidates, verification and groups for ``texts``.

        ``verify="exact"`` keeps a candidate pair when the exact Jaccard of the two
        shingle sets reaches the threshold (precision 1 against the definition; the
        LSH candidates bound the recall); ``"estimate"`` uses the signature estimate.
        """
        norm = list(texts) if normalized else [normalize_text(t) for t in texts]
        exact = self.verify == "exact"
        if exact:
            sig, has, flat, offsets = self.signatures(norm, keep_shingles=True)
        else:
            sig, has = self.signatures(norm)
        cand = self.candidate_pairs(sig, has)
        est = np.zeros(len(cand))
        jac = np.full(len(cand), np.nan)
        step = 200000
        for lo in range(0, len(cand), step):
            a, b = cand[lo : lo + step, 0], cand[lo : lo + step, 1]
            est[lo : lo + step] = (sig[a] == sig[b]).mean(axis=1)
            if exact:
                jac[lo : lo + step] = _pair_jaccard(flat, offsets, a, b)
        keep = (jac if exact else est) >= self.threshold - 1e-12
        self.signatures_, self.has_shingles_ = sig, has
        self.n_candidates_ = int(len(cand))
        self.pairs_ = pd.DataFrame(
            {"a": cand[keep, 0], "b": cand[keep, 1], "jaccard": jac[keep], "jaccard_est": est[keep]}
        )
        self.labels_ = _components(len(norm), cand[keep])
        return self


def _distinct_per_doc(shingles: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each document's distinct shingles, sorted, and how many it has."""
    docs = np.repeat(np.arange(len(counts)), counts)
    if not len(docs):
        return shingles, np.zeros(len(counts), dtype=np.int64)
    order = np.lexsort((shingles, docs))
    d, s = docs[order], shingles[order]
    first = np.concatenate(([True], (d[1:] != d[:-1]) | (s[1:] != s[:-1])))
    return s[first], np.bincount(d[first], minlength=len(counts)).astype(np.int64)


def _pair_keys(pid: np.ndarray, vals: np.ndarray) -> np.ndarray:
    """One uint64 per (pair, shingle): equal exactly when both are equal (up to a 2**-64 chance)."""
    with np.errstate(over="ignore"):
        return _mix64(vals ^ (pid.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)))


def _pair_jaccard(flat: np.ndarray, offsets: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Exact Jaccard of the shingle sets of documents a[i] and b[i], vectorised over the pairs."""

    def side(doc):
        lens = offsets[doc + 1] - offsets[doc]
        pos = np.arange(lens.sum()) - np.repeat(np.cumsum(lens) - lens, lens)
        pid = np.repeat(np.arange(len(doc)), lens)
        keys, first = np.unique(_pair_keys(pid, flat[np.repeat(offsets[doc], lens) + pos]), return_index=True)
        return keys, pid[first]

    ka, pa = side(a)
    kb, pb = side(b)
    _, ia, _ = np.intersect1d(ka, kb, assume_unique=True, return_indices=True)
    inter = np.bincount(pa[ia], minlength=len(a))
    union = np.bincount(pa, minlength=len(a)) + np.bincount(pb, minlength=len(b)) - inter
    return np.where(union > 0, inter / np.maximum(union, 1), np.nan)


def _components(n: int, pairs: np.ndarray) -> np.ndarray:
    """Connected-component label per node = smallest node position in its component."""
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if len(pairs) == 0:
        return np.arange(n)
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(len(pairs), dtype=np.int8), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, comp = connected_components(graph, directed=False)
    first = np.full(comp.max() + 1, n, dtype=np.int64)
    np.minimum.at(first, comp, np.arange(n))
    return first[comp]


def exact_jaccard_pairs(
    texts: Sequence[Any], threshold: float, ngram: int = 3, unit: str = "word", normalized: bool = False
) -> pd.DataFrame:
    """Every pair of texts whose shingle sets have Jaccard >= threshold, computed exactly.

    The reference for MinHash/LSH: the sparse text-by-shingle matrix times its
    transpose gives all intersections (quadratic in the worst case; for tests and
    benchmarks on up to tens of thousands of texts).
    """
    from scipy.sparse import csr_matrix, triu

    norm = list(texts) if normalized else [normalize_text(t) for t in texts]
    toks, lengths = _token_arrays(norm, unit)
    shingles, counts = _ngram_hashes(toks, lengths, ngram)
    flat, ucounts = _distinct_per_doc(shingles, counts)
    rows = np.repeat(np.arange(len(norm)), ucounts)
    _, col = np.unique(flat, return_inverse=True)
    m = csr_matrix(
        (np.ones(len(flat), dtype=np.float32), (rows, col.ravel())),
        shape=(len(norm), int(col.max()) + 1 if len(col) else 0),
    )
    sizes = np.asarray(m.sum(axis=1)).ravel()
    inter = triu(m @ m.T, k=1).tocoo()
    union = sizes[inter.row] + sizes[inter.col] - inter.data
    jac = inter.data / np.where(union > 0, union, 1)
    keep = jac >= threshold - 1e-9
    out = pd.DataFrame(
        {
            "a": inter.row[keep].astype(np.int64),
            "b": inter.col[keep].astype(np.int64),
            "jaccard": jac[keep].astype(float),
        }
    )
    return out.sort_values(["a", "b"], ignore_index=True)


@dataclass
class DuplicateReport:
    """Exact and near duplicates of one text column.

    ``rows``: one row per input row (``row``, ``id``, ``exact_group``, ``near_group``,
    ``is_exact_duplicate``, ``is_near_duplicate``, ``empty``); groups are named by
    their first row position. ``pairs``: verified near-duplicate pairs among distinct
    texts (``id_a``, ``id_b``, ``jaccard_est``). ``groups``: the groups with more than
    one row (``group``, ``size``, ``kind``, ``example`` redacted). ``summary``: counts,
    rates with Wilson intervals and the parameters.
    """

    rows: pd.DataFrame
    pairs: pd.DataFrame
    groups: pd.DataFrame
    summary: dict = field(default_factory=dict)


def find_duplicates(
    texts: Sequence[Any],
    ids: Sequence[Any] | None = None,
    threshold: float = 0.7,
    num_perm: int = 128,
    ngram: int = 3,
    unit: str = "word",
    seed: int = 7,
    near: bool = True,
    verify: str = "exact",
) -> DuplicateReport:
    """Exact duplicates, then near duplicates among the distinct texts (MinHash + LSH).

    Parameters
    ----------
    texts, ids : the texts and their identifiers (default: positions)
    threshold : Jaccard similarity of word-``ngram`` shingle sets for near duplicates
    num_perm, ngram, unit, seed : see :class:`MinHashLSH`
    near : False skips the near-duplicate pass

    Notes
    -----
    A text whose normalisation is empty is neither an exact nor a near duplicate
    (it is reported as ``empty``). Texts shorter than ``ngram`` tokens form one
    shingle of all their tokens, so two short texts are near duplicates only when
    equal after normalisation.
    """
    texts = list(texts)
    return _duplicates_of_normalized(
        _normalize_many(texts),
        _ids(ids, len(texts)),
        lambda rows: [str(texts[g]) for g in rows],
        threshold=threshold,
        num_perm=num_perm,
        ngram=ngram,
        unit=unit,
        seed=seed,
        near=near,
        verify=verify,
    )


def _duplicates_of_normalized(
    normalized: list[str],
    id_arr: np.ndarray,
    example_texts,
    *,
    threshold: float,
    num_perm: int,
    ngram: int,
    unit: str,
    seed: int,
    near: bool,
    verify: str,
) -> DuplicateReport:
    """:func:`find_duplicates` of texts already normalised (:func:`_normalize_many`), in row
    order; ``example_texts(rows)`` gives the raw texts of the groups' first rows (the examples
    shown, redacted), so that a streamed read keeps only the normalised texts."""
    n = len(normalized)
    if isinstance(normalized, list):
        empty = np.fromiter((not t for t in normalized), dtype=bool, count=n)
        codes, _ = pd.factorize(pd.Series(normalized, dtype=object))
    else:  # an Arrow string array (the streamed read): exact codes without a Python string per row
        import pyarrow.compute as pc

        empty = pc.equal(pc.binary_length(normalized), 0).to_numpy(zero_copy_only=False).astype(bool)
        codes = normalized.dictionary_encode().indices.to_numpy(zero_copy_only=False).astype(np.int64)
    exact = _exact_frame(codes, empty, id_arr)
    rep_rows = np.flatnonzero(~exact["is_duplicate"].to_numpy() & ~empty)
    near_group = exact["group"].to_numpy().copy()
    pairs = pd.DataFrame(
        {
            "id_a": pd.Series(dtype=object),
            "id_b": pd.Series(dtype=object),
            "jaccard": pd.Series(dtype=float),
            "jaccard_est": pd.Series(dtype=float),
        }
    )
    lsh = None
    if near and len(rep_rows) > 1:
        lsh = MinHashLSH(threshold=threshold, num_perm=num_perm, ngram=ngram, unit=unit, seed=seed, verify=verify)
        distinct = (
            [normalized[i] for i in rep_rows] if isinstance(normalized, list) else normalized.take(rep_rows).to_pylist()
        )
        lsh.fit(distinct, normalized=True)
        rep_label = rep_rows[lsh.labels_]  # representative row of each distinct text's group
        label_of_rep = pd.Series(rep_label, index=rep_rows)
        near_group = label_of_rep.reindex(exact["group"].to_numpy()).to_numpy()
        near_group = np.where(empty, np.arange(n), near_group).astype(np.int64)
        pairs = pd.DataFrame(
            {
                "id_a": id_arr[rep_rows[lsh.pairs_["a"].to_numpy()]],
                "id_b": id_arr[rep_rows[lsh.pairs_["b"].to_numpy()]],
                "jaccard": lsh.pairs_["jaccard"].to_numpy(),
                "jaccard_est": lsh.pairs_["jaccard_est"].to_numpy(),
            }
        )
    rows = pd.DataFrame(
        {
            "row": np.arange(n),
            "id": id_arr,
            "exact_group": exact["group"].to_numpy(),
            "near_group": near_group,
            "is_exact_duplicate": exact["is_duplicate"].to_numpy(),
            "empty": empty,
        }
    )
    first_in_near = pd.Series(np.arange(n)).groupby(near_group).transform("min").to_numpy()
    rows["is_near_duplicate"] = (first_in_near != np.arange(n)) & ~rows["is_exact_duplicate"].to_numpy()
    n_distinct = int((~rows["is_exact_duplicate"]).sum())
    n_groups = int(len(np.unique(near_group)))
    exact_dups = n - n_distinct
    near_dups = n_distinct - n_groups
    sizes = pd.Series(near_group).value_counts()
    multi = sizes[sizes > 1]
    groups = pd.DataFrame({"group": multi.index.to_numpy(dtype=np.int64), "size": multi.to_numpy()})
    if len(groups):
        exact_sizes = pd.Series(exact["group"].to_numpy()).value_counts()
        groups["kind"] = [
            "exact" if exact_sizes.get(g, 1) == s else ("near" if exact_sizes.get(g, 1) == 1 else "exact+near")
            for g, s in zip(groups["group"], groups["size"])
        ]
        groups["id"] = id_arr[groups["group"].to_numpy()]
        groups["example"] = [_pii.redact(t)[:160] for t in example_texts(groups["group"].to_numpy())]
        groups = groups.sort_values(["size", "group"], ascending=[False, True], ignore_index=True)
    else:
        groups = pd.DataFrame(columns=["group", "size", "kind", "id", "example"])
    summary = {
        "rows": n,
        "empty": int(empty.sum()),
        "distinct": n_distinct,
        "near_groups": n_groups,
        "exact_duplicates": exact_dups,
        "near_duplicates": near_dups if near else None,
        "exact_duplicate_rate": _rate(exact_dups, n, "rows"),
        "dedup_rate": _rate(exact_dups + (near_dups if near else 0), n, "rows"),
        "method": (
            f"exact: NFKC+casefold token hash; near: MinHash {num_perm} perms, {ngram}-{unit} shingles, "
            f"LSH {lsh.bands_ if lsh else '-'}x{lsh.rows_ if lsh else '-'} (bands x rows), "
            f"candidates kept at Jaccard >= {threshold} "
            f"({'exact, on the shingle sets' if verify == 'exact' else 'signature estimate'}), seed {seed}"
        )
        if near
        else "exact: NFKC+casefold token hash",
        "params": {
            "threshold": threshold,
            "num_perm": num_perm,
            "ngram": ngram,
            "unit": unit,
            "seed": seed,
            "verify": verify,
            "bands": lsh.bands_ if lsh else None,
            "rows": lsh.rows_ if lsh else None,
        },
        "candidate_pairs": lsh.n_candidates_ if lsh else 0,
        "near_pairs": int(len(pairs)),
    }
    return DuplicateReport(rows=rows, pairs=pairs, groups=groups, summary=summary)


def duplicates_across(
    sets: Mapping[str, Sequence[Any]], threshold: float = 0.7, seed: int = 7
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Exact and near duplicates within and between named text sets.

    Returns
    -------
    per_set : DataFrame ``set``, ``texts``, ``exact_duplicates``, ``near_duplicates``
        (within the set, as in :func:`find_duplicates`)
    pairs : DataFrame ``set_a``, ``set_b``, ``exact_pairs`` (text pairs equal after
        normalisation), ``near_pairs`` (distinct texts with Jaccard >= threshold),
        counted once per unordered pair of rows; ``set_a == set_b`` rows are within a set
    """
    names, texts, ids = [], [], []
    for name, values in sets.items():
        for i, t in enumerate(values):
            names.append(name)
            texts.append(t)
            ids.append(f"{name}:{i}")
    rep = find_duplicates(texts, ids, threshold=threshold, seed=seed)
    per_set = []
    for name, values in sets.items():
        s = find_duplicates(list(values), threshold=threshold, seed=seed).summary
        per_set.append(
            {
                "set": name,
                "texts": s["rows"],
                "exact_duplicates": s["exact_duplicates"],
                "near_duplicates": s["near_duplicates"],
            }
        )
    set_of = dict(zip(ids, names))
    counts: Counter = Counter()
    rows = rep.rows
    for _, grp in rows[~rows["empty"]].groupby("exact_group"):
        members = grp["id"].tolist()
        for i in range(len(members)):
            for j in range(i + 1, len(members)):
                counts[tuple(sorted((set_of[members[i]], set_of[members[j]]))) + ("exact",)] += 1
    # near pairs are between distinct texts; expand each to the exact copies on either side
    size_of = rows.groupby("exact_group")["id"].apply(list).to_dict()
    group_of = dict(zip(rows["id"], rows["exact_group"]))
    for a, b in zip(rep.pairs["id_a"], rep.pairs["id_b"]):
        for x in size_of[group_of[a]]:
            for y in size_of[group_of[b]]:
                counts[tuple(sorted((set_of[x], set_of[y]))) + ("near",)] += 1
    keys = sorted({k[:2] for k in counts})
    pairs = pd.DataFrame(
        [
            {"set_a": a, "set_b": b, "exact_pairs": counts[(a, b, "exact")], "near_pairs": counts[(a, b, "near")]}
            for a, b in keys
        ],
        columns=["set_a", "set_b", "exact_pairs", "near_pairs"],
    )
    return pd.DataFrame(per_set), pairs
