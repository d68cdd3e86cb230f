"""Finding the product in a photo without a model: OpenCV GrabCut seeded from the border.

Product photos frame the product with background all round, so a band along the border is
taken as certain background and GrabCut's colour models separate the rest. Everything runs
offline on the CPU in well under a second at the working size.

GrabCut takes a soft contact shadow for product: it is darker than any background it saw at
the border. On a plain or evenly lit background the shadow keeps the background's hue and
only loses light, so what is background-coloured, darker than the background and
reached from outside the product through background-coloured pixels becomes certain
background, and GrabCut runs again (`shadow_core`): it then takes the shadow's paler rim too.
What is as light as the background is not marked, since a white cap or label looks just
like it.
On a patterned background, or when the peel would take much of the product (a grey product
on a grey sweep), GrabCut's mask is kept as it is.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from backends.errors import InvalidRequest

WORK_SIDE = 512  # GrabCut's cost grows with pixels; the mask is refined back at full size
BORDER_FRACTION = 0.03
ITERATIONS = 6
# The shadow peel: a background's hue at the border may spread this much (chromaticity
# distance, 95th percentile) before it counts as patterned and the peel is skipped; a
# shadow keeps at least SHADOW_LIGHT of the background's light and loses at least
# SHADOW_MARGIN; the peel may take at most MAX_PEEL of GrabCut's product.
PLAIN_SPREAD = 0.03
SHADOW_LIGHT = 0.45
SHADOW_MARGIN = 0.04  # a shadow is at least this much darker than its background
MAX_PEEL = 0.4
PEEL_ITERATIONS = 2


def auto_mask(image: Image.Image, *, iterations: int = ITERATIONS,
              peel: bool = True) -> Image.Image:
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
        foreground = _clean(cv2, np.isin(seeds, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.uint8))
        shadow = shadow_core(cv2, np.asarray(small), foreground, band) if peel else None
        if shadow is not None and shadow.any():
            # The shadow as certain background: GrabCut learns its tones as background and
            # takes the paler rim around it too, while the product keeps what is enclosed.
            seeds[shadow] = cv2.GC_BGD
            cv2.grabCut(bgr, seeds, None, background_model, foreground_model,
                        PEEL_ITERATIONS, cv2.GC_EVAL)
            foreground = _clean(cv2, np.isin(seeds, (cv2.GC_FGD, cv2.GC_PR_FGD))
                                .astype(np.uint8))
    except cv2.error as exc:
        raise InvalidRequest(f"Automatic masking failed on this photo ({exc}); give a mask "
                             "file or paint one.") from exc
    if not foreground.any():
        raise InvalidRequest("Studio could not find a product in this photo automatically. "
                             "Give a mask file (white = product) or paint the mask.")
    mask = Image.fromarray(foreground * 255, "L")
    if mask.size != rgb.size:
        # Smooth upscaling then a threshold gives clean edges rather than blocky ones.
        mask = mask.resize(rgb.size, Image.Resampling.BILINEAR).point(
            lambda v: 255 if v >= 128 else 0)
    return mask


def shadow_core(cv2, rgb: np.ndarray, foreground: np.ndarray, band: int) -> np.ndarray | None:
    """The shadowed background GrabCut took in as product (see the module's note), or None
    when the background is patterned or the peel would take too much of the product."""
    pixels = rgb.astype(np.float32) + 1.0
    light = pixels.sum(axis=2)
    hue = pixels / light[..., None]  # chromaticity: colour without its brightness
    border = np.zeros(foreground.shape, bool)
    border[:band, :] = border[-band:, :] = border[:, :band] = border[:, -band:] = True
    # The background's hue and light as planes over the frame, fitted to the border: a
    # sweep lit from one side, or graded, keeps its hue at each point.
    height, width = foreground.shape
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    plane = np.stack([np.ones_like(xs), xs / width, ys / height], axis=-1)
    hue_plane, *_ = np.linalg.lstsq(plane[border], hue[border], rcond=None)
    distance = np.linalg.norm(hue - plane @ hue_plane, axis=2)
    spread = float(np.percentile(distance[border], 95))
    if spread > PLAIN_SPREAD:
        return None
    light_plane, *_ = np.linalg.lstsq(plane[border], light[border], rcond=None)
    background_light = plane @ light_plane
    noise = float(np.percentile(np.abs(light - background_light)[border], 95))
    ratio = light / background_light
    coloured_like_it = (distance <= max(0.012, 1.5 * spread)) & (ratio >= SHADOW_LIGHT) & \
        (ratio <= 1.0 + 2 * noise / float(background_light.mean()))
    # Light parts of the product (a white cap, a cream label) are as light as the
    # background: only what is clearly darker than it counts as shadow.
    darker = ratio <= 1.0 - max(SHADOW_MARGIN, 2 * noise / float(background_light.mean()))
    # Reached from what is already background through background-coloured pixels, pale
    # (the shadow's soft rim) or dark.
    reachable = (coloured_like_it | (foreground == 0)).astype(np.uint8)
    _, labels = cv2.connectedComponents(reachable, connectivity=4)
    outside = np.unique(labels[foreground == 0])
    core = coloured_like_it & darker & (foreground > 0) & np.isin(labels, outside[outside > 0])
    if core.sum() > MAX_PEEL * foreground.sum():
        return None
    return core


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
