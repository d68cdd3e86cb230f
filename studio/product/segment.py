"""Finding the product in a photo without a model: OpenCV GrabCut seeded from the border.

Product photos frame the product with background all round, so a band along the border is
taken as certain background and GrabCut's colour models separate the rest. Everything runs
offline on the CPU in well under a second at the working size.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from backends.errors import InvalidRequest

WORK_SIDE = 512  # GrabCut's cost grows with pixels; the mask is refined back at full size
BORDER_FRACTION = 0.03
ITERATIONS = 6


def auto_mask(image: Image.Image, *, iterations: int = ITERATIONS) -> Image.Image:
    """The product's mask (L, 255 = product) for an RGB photo of a product on a background."""
    try:
        import cv2
    except ImportError as exc:
        raise InvalidRequest("Automatic product masks need OpenCV (pip install "
                             "opencv-python-headless); or give a mask file.") from exc
    rgb = image.convert("RGB")
    scale = min(1.0, WORK_SIDE / max(rgb.size))
    small = rgb.resize((max(8, round(rgb.width * scale)), max(8, round(rgb.height * scale))),
                       Image.Resampling.LANCZOS) if scale < 1 else rgb
    bgr = np.ascontiguousarray(np.asarray(small)[:, :, ::-1])
    height, width = bgr.shape[:2]
    band = max(2, round(BORDER_FRACTION * max(width, height)))
    seeds = np.full((height, width), cv2.GC_PR_FGD, np.uint8)
    seeds[:band, :] = seeds[-band:, :] = cv2.GC_BGD
    seeds[:, :band] = seeds[:, -band:] = cv2.GC_BGD
    background_model = np.zeros((1, 65), np.float64)
    foreground_model = np.zeros((1, 65), np.float64)
    cv2.setRNGSeed(0)  # GrabCut's k-means start is random; the same photo gives the same mask
    try:
        cv2.grabCut(bgr, seeds, None, background_model, foreground_model, iterations,
                    cv2.GC_INIT_WITH_MASK)
    except cv2.error as exc:
        raise InvalidRequest(f"Automatic masking failed on this photo ({exc}); give a mask "
                             "file or paint one.") from exc
    foreground = np.isin(seeds, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.uint8)
    foreground = _clean(cv2, foreground)
    if not foreground.any():
        raise InvalidRequest("Studio could not find a product in this photo automatically. "
                             "Give a mask file (white = product) or paint the mask.")
    mask = Image.fromarray(foreground * 255, "L")
    if mask.size != rgb.size:
        # Smooth upscaling then a threshold gives clean edges rather than blocky ones.
        mask = mask.resize(rgb.size, Image.Resampling.BILINEAR).point(
            lambda v: 255 if v >= 128 else 0)
    return mask


def _clean(cv2, foreground: np.ndarray) -> np.ndarray:
    """Keep the large pieces (a product can be several, e.g. a pair of shoes), fill holes."""
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
    foreground = cv2.morphologyEx(foreground, cv2.MORPH_OPEN, kernel)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(foreground, connectivity=8)
    if count <= 1:
        return foreground
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = 1 + np.flatnonzero(areas >= 0.05 * areas.max())
    foreground = np.isin(labels, keep).astype(np.uint8)
    # Specks of background inside the product are noise; a large enclosed region (the
    # inside of a mug's handle) is real background and stays background.
    inverse = (1 - foreground).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(inverse, connectivity=4)
    border = set(np.unique(np.concatenate(
        [labels[0], labels[-1], labels[:, 0], labels[:, -1]])).tolist())
    speck = 0.002 * float(foreground.sum())
    small = [label for label in range(1, count)
             if label not in border and stats[label, cv2.CC_STAT_AREA] <= speck]
    foreground[np.isin(labels, small)] = 1
    return foreground
