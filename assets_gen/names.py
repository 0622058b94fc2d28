"""Names for places, people and items from seeded character-level Markov chains.

Why this design: an order-2 chain trained on a small bundled word list (``assets_gen/data/names_*.txt``,
written for this project) produces new names with the list's flavour in microseconds and needs no
model file. Transition tables are built once per list, with successors in sorted order, so a draw
sequence from a seeded generator always yields the same names. Names that merely repeat a training
word are rejected, as are duplicates and names outside the requested length.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import numpy as np

from worldsim.rng import RngStreams

from .errors import GenerationFailed
from .params import NamesParams

ORDER = 2
START, END = "^", "$"


@lru_cache(maxsize=8)
def word_list(kind: str) -> tuple[str, ...]:
    """The bundled training words for ``kind`` (place, person, item), lower case."""
    text = resources.files("assets_gen.data").joinpath(f"names_{kind}.txt").read_text()
    return tuple(w.strip().lower() for w in text.splitlines() if w.strip() and not w.startswith("#"))


@lru_cache(maxsize=8)
def chain(kind: str) -> dict[str, tuple[tuple[str, ...], np.ndarray]]:
    """Order-2 transitions: context -> (successor characters sorted, cumulative probabilities)."""
    counts: dict[str, dict[str, int]] = {}
    for word in word_list(kind):
        padded = START * ORDER + word + END
        for i in range(len(padded) - ORDER):
            ctx, nxt = padded[i:i + ORDER], padded[i + ORDER]
            counts.setdefault(ctx, {}).setdefault(nxt, 0)
            counts[ctx][nxt] += 1
    table = {}
    for ctx, successors in counts.items():
        chars = tuple(sorted(successors))
        weights = np.array([successors[c] for c in chars], dtype=np.float64)
        table[ctx] = (chars, np.cumsum(weights) / weights.sum())
    return table


def _one_name(table: dict[str, tuple[tuple[str, ...], np.ndarray]], rng: np.random.Generator,
              max_length: int) -> str:
    out = START * ORDER
    while len(out) - ORDER <= max_length:
        chars, cumulative = table[out[-ORDER:]]
        nxt = chars[min(int(np.searchsorted(cumulative, rng.random(), side="right")), len(chars) - 1)]
        if nxt == END:
            break
        out += nxt
    return out[ORDER:]


def generate_names(p: NamesParams, rng: np.random.Generator | None = None) -> list[str]:
    """``p.count`` distinct new capitalised names of ``p.kind``.

    Raises ``GenerationFailed`` if the chain cannot produce that many distinct names of the allowed length.
    """
    rng = rng if rng is not None else RngStreams(p.seed).stream(f"names.{p.kind}")
    table, known = chain(p.kind), set(word_list(p.kind))
    names: list[str] = []
    seen: set[str] = set()
    tries = 0
    while len(names) < p.count:
        tries += 1
        if tries > 200 * p.count + 1000:
            raise GenerationFailed("names", f"only {len(names)} distinct {p.kind} names of length "
                                            f"{p.min_length}..{p.max_length} found; ask for fewer or widen the lengths")
        name = _one_name(table, rng, p.max_length)
        if p.min_length <= len(name) <= p.max_length and name not in known and name not in seen:
            seen.add(name)
            names.append(name.capitalize())
    return names
