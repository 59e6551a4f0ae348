#!/usr/bin/env bash
# The main job: show the installation, render a built-in house, run the ObjectNav benchmark, then
# CLIP similarities.
# CLIP is `--clip auto`: real pretrained weights when cached or downloadable, else the sim-trained
# model (trained once on first use, ~5 min on 2 cores; labelled "sim-trained (not zero-shot)").
set -euo pipefail
cd "$(dirname "$0")/.."
EMB=${VENV:-.venv}/bin/embodied
out=outputs/demo; mkdir -p "$out"
"${VENV:-.venv}/bin/python" - "$out" <<'PY'
import sys
import numpy as np
from PIL import Image, ImageDraw
out = sys.argv[1]
for name, fill in (("red_disc", (210, 30, 30)), ("green_disc", (30, 170, 60))):
    im = Image.new("RGB", (320, 240), (235, 235, 230))
    ImageDraw.Draw(im).ellipse((100, 60, 220, 180), fill=fill)
    im.save(f"{out}/{name}.png")
PY
"$EMB" info
"$EMB" sim view --seed 7 --start-seed 2 --out "$out"     # a built-in house: RGB | depth | instances | map
# the main job: CoW object navigation on built-in val episodes with CLIP-Patch over depth segments and
# value-weighted frontiers (CLIP from --clip auto); results, maps and one video under outputs/nav/demo
"$EMB" nav -n "${NAV_EPISODES:-20}" --localizer patch --frontier value --video 1 --out outputs/nav/demo
args=(--image "$out/red_disc.png" --image "$out/green_disc.png" --text "a red circle" --text "a green circle" --templates short)
if ! "$EMB" clip embed "${args[@]}"; then
  echo "[demo] no pretrained weights here (see the error above); falling back to a RANDOM tiny model:"
  "$EMB" clip embed --random-init --model embodied-tiny "${args[@]}"
fi
