"""Regenerate sample_data/scene.png: a 240 x 180 RGB landscape rendered from formulas.

Run from the repository root:  python sample_data/make_scene.py
A sky graded from blue to pale orange, a sun with a soft halo, two ranges of hills, a lake
reflecting the sky, with anti-aliased edges: smooth gradients and sharp boundaries, so that
vector quantisation shows both banding and its fix as K grows.  No randomness, no input files.
"""

import numpy as np
from PIL import Image

WIDTH, HEIGHT = 240, 180


def _blend(base: np.ndarray, colour, alpha: np.ndarray) -> np.ndarray:
    """``colour`` (RGB, or (H, W, 3)) laid over ``base`` (H, W, 3) with coverage ``alpha`` (H, W)."""
    return base * (1.0 - alpha[..., None]) + np.asarray(colour, dtype=float) * alpha[..., None]


def _coverage(signed_distance: np.ndarray) -> np.ndarray:
    """Anti-aliasing: the fraction of a pixel inside a shape, from its signed distance in pixels
    (negative inside)."""
    return np.clip(0.5 - signed_distance, 0.0, 1.0)


def render() -> np.ndarray:
    """(HEIGHT, WIDTH, 3) uint8 pixels of the scene."""
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH].astype(float) + 0.5
    t = (y / (0.62 * HEIGHT))[..., None]
    sky = (1 - t) * np.array([40.0, 90.0, 170.0]) + t * np.array([250.0, 190.0, 140.0])
    image = sky.copy()
    sun = np.hypot(x - 170.0, y - 62.0)
    image = _blend(image, [255.0, 170.0, 90.0], 0.55 * np.exp(-((sun / 30.0) ** 2)))
    image = _blend(image, [255.0, 236.0, 180.0], _coverage(sun - 16.0))
    far = 100.0 + 14.0 * np.sin(x / 23.0) + 6.0 * np.sin(x / 7.0 + 1.0)
    image = _blend(image, [105.0, 110.0, 150.0], _coverage(far - y))
    near = 122.0 + 12.0 * np.sin(x / 41.0 + 2.0) + 4.0 * np.cos(x / 11.0)
    shade = np.clip((y - near) / 40.0, 0.0, 1.0)[..., None]
    hills = (1 - shade) * np.array([70.0, 120.0, 60.0]) + shade * np.array([30.0, 70.0, 35.0])
    image = _blend(image, hills, _coverage(near - y))
    mirrored = sky[np.clip(110.0 - 3.6 * (y - 150.0), 0, HEIGHT - 1).astype(int), x.astype(int)] * 0.8
    ripple = 1.0 + 0.04 * np.sin(y * 1.3 + np.sin(x / 9.0))
    image = _blend(image, mirrored * ripple[..., None], _coverage(150.0 - y))
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def main(path: str = "sample_data/scene.png") -> None:
    Image.fromarray(render()).save(path, optimize=True)


if __name__ == "__main__":
    main()
