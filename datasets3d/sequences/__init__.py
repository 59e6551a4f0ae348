"""Recorded RGB-D sequences (TUM RGB-D, ScanNet exports, plain folders) as a source of
:class:`~embodied.types.Observation`.

``open_sequence(path)`` detects the format and returns an :class:`RGBDSequence` whose frames are
decoded on access: metric float32 depth (NO_DEPTH = 0 for invalid pixels), undistorted images, and
camera poses in the toolkit's Z-up world (TUM's motion-capture frame is gravity-aligned to the
floor). ``write_folder_sequence`` writes Observations in the plain-folder format.
"""

from datasets3d.sequences.base import RGBDSequence, SequenceError
from datasets3d.sequences.folder import write_folder_sequence
from datasets3d.sequences.formats import SEQUENCE_FORMATS, open_sequence, sequence_format

__all__ = ["RGBDSequence", "SequenceError", "open_sequence", "sequence_format", "write_folder_sequence",
           "SEQUENCE_FORMATS"]
