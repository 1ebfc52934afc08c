"""Which UNIPEN training writers train the members and which are held out.

The held-out writers are the same for every ensemble member (SPLIT_SEED), so no member has seen
them and they can calibrate the ensemble (digits.training.calibrate).
"""

from __future__ import annotations

import numpy as np

from digits.data import Sample

SPLIT_SEED = 0


def nondigit_split(samples: list[Sample], share: float = 0.1) -> tuple[list[Sample], list[Sample]]:
    """Letters and symbols: (training, held-out) by writer, the same split for every member."""
    held = hold_out_writers(samples, np.random.default_rng([SPLIT_SEED, 4243]), share)
    return [s for s in samples if s.writer not in held], [s for s in samples if s.writer in held]


def hold_out_writers(samples: list[Sample], rng: np.random.Generator, share: float) -> set[str]:
    """Whole writers, about `share` of the samples (writers differ in size), drawn from rng."""
    writers = rng.permutation(sorted({s.writer for s in samples}))
    held, count = set(), 0
    target = share * len(samples)
    for writer in writers:
        n = sum(s.writer == writer for s in samples)
        if count + n <= 1.5 * target:
            held.add(str(writer))
            count += n
    return held


def validation_writers(samples: list[Sample], n_mnist: int = 60000,
                       val_writer_share: float = 0.1) -> set[str]:
    """The stroke writers `mnist_and_strokes` held out for validation (same random stream).

    No ensemble member trained on them, so their samples can calibrate it (digits.training.calibrate).
    """
    rng = np.random.default_rng(SPLIT_SEED)
    rng.permutation(n_mnist)  # mnist_and_strokes draws the MNIST split first
    return hold_out_writers(samples, rng, val_writer_share)
