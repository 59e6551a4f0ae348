"""MIMIC pair mining: pairs of views of the same scene, with patch correspondences, from videos,
folders of frames and synthetic scenes (Marathe, Bigverdi et al., CVPR 2023).

>>> from datasets3d.mining import MiningConfig, discover, builtin_sequences, run_mining
>>> seqs = discover(["videos/"]) + builtin_sequences(range(4))
>>> summary = run_mining(seqs, MiningConfig(samples_per_scene=20), "outputs/mining/run1", workers=2)

Command line: ``embodied data mine``. The pair test alone: :class:`OverlapTester`.
"""

from datasets3d.mining.config import MiningConfig
from datasets3d.mining.miner import DROP_REASONS, MinedPair, UnitResult, mine_sequence
from datasets3d.mining.overlap import (
    FrameFeatures,
    OverlapTester,
    PairTest,
    overlap_outcome,
    patch_correspondences,
    sample_pixels,
)
from datasets3d.mining.runner import load_done, run_mining
from datasets3d.mining.sources import Sequence, SourceError, builtin_sequences, discover, habitat_sequences
from datasets3d.mining.writer import read_index

__all__ = [
    "MiningConfig",
    "OverlapTester",
    "FrameFeatures",
    "PairTest",
    "overlap_outcome",
    "patch_correspondences",
    "sample_pixels",
    "Sequence",
    "SourceError",
    "discover",
    "builtin_sequences",
    "habitat_sequences",
    "mine_sequence",
    "MinedPair",
    "UnitResult",
    "DROP_REASONS",
    "run_mining",
    "load_done",
    "read_index",
]
