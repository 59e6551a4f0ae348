"""Throughput of ClipBackbone.encode_images against a raw open_clip forward, side by side.

Both sides use the same model object, the same uint8 frames, and include preprocessing:
  raw  : open_clip's own eval transform (PIL) per image -> stack -> model.encode_image -> normalise
  ours : ClipBackbone.encode_images (batched torch preprocessing on the device, autocast on GPU)
Target: overhead <= 5% at batch 32 (ours may be faster: a negative overhead).

    python benchmarks/backbone.py                       # ViT-B-32, CPU, 480x640 frames
    python benchmarks/backbone.py --device cuda --repeats 20
Weights are random (speed does not depend on them), so this runs offline.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np
import torch


def frames(n: int, h: int, w: int, seed: int) -> np.ndarray:
    """Smooth random uint8 frames (N, H, W, 3): upsampled noise, closer to photos than white noise."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (n, h // 16, w // 16, 3), dtype=np.uint8)
    return np.stack([np.asarray(Image.fromarray(s).resize((w, h), Image.BILINEAR)) for s in small])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="ViT-B-32")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--batch-sizes", default="1,8,32")
    ap.add_argument("--height", type=int, default=480)
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--repeats", type=int, default=3, help="timed batches per side and batch size")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", help="also write the figures to this JSON file")
    args = ap.parse_args()

    from open_clip.transform import PreprocessCfg, image_transform_v2
    from PIL import Image

    from embodied.clip import ClipBackbone, ClipConfig

    sizes = [int(s) for s in args.batch_sizes.split(",")]
    clip = ClipBackbone(ClipConfig(model=args.model, random_init=True, seed=args.seed, device=args.device,
                                   batch_size=max(sizes)))
    model, dev = clip.model, clip.device
    pil = image_transform_v2(PreprocessCfg(**clip.preprocess_cfg), is_train=False)
    data = frames(max(sizes), args.height, args.width, args.seed)

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize()

    def raw(batch):
        x = torch.stack([pil(Image.fromarray(a)) for a in batch]).to(dev)
        with torch.inference_mode(), clip.autocast():
            f = model.encode_image(x)
        return torch.nn.functional.normalize(f.float(), dim=-1).cpu().numpy()

    def ours(batch):
        return clip.encode_images(batch, progress=False)

    print(f"model {args.model} (random init) on {dev}, frames {args.height}x{args.width}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, {platform.processor() or platform.machine()}")
    print(f"{'batch':>5} {'raw img/s':>10} {'ours img/s':>11} {'ours/raw':>9} {'overhead':>9} {'max |diff|':>10}")
    rows = []
    for bs in sizes:
        batch = data[:bs]  # config batch_size >= bs: one forward per call, like the raw side
        diff = float(np.abs(raw(batch) - ours(batch)).max())  # also the warm-up
        t = {"raw": 0.0, "ours": 0.0}
        for _ in range(args.repeats):
            for name, fn in (("raw", raw), ("ours", ours)):  # interleaved, so drift hits both sides
                sync()
                t0 = time.perf_counter()
                fn(batch)
                sync()
                t[name] += time.perf_counter() - t0
        ips = {k: bs * args.repeats / v for k, v in t.items()}
        ratio = ips["ours"] / ips["raw"]
        overhead = ips["raw"] / ips["ours"] - 1.0
        rows.append({"batch": bs, "raw_ips": ips["raw"], "ours_ips": ips["ours"], "ratio": ratio,
                     "overhead": overhead, "max_abs_diff": diff})
        print(f"{bs:>5} {ips['raw']:>10.1f} {ips['ours']:>11.1f} {ratio:>9.3f} {overhead:>+9.1%} {diff:>10.2e}")
    last = rows[-1]
    verdict = "PASS" if last["overhead"] <= 0.05 else "FAIL"
    print(f"target: overhead <= 5% at batch {last['batch']}: {last['overhead']:+.1%} -> {verdict}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"model": args.model, "device": str(dev), "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
