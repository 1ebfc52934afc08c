"""Image files (scans, phone photos, exported drawings) -> the 28x28 model input.

The same MNIST-style step as the canvas, `center_digit`, makes the final 28x28; this module only
turns an arbitrary file into the "bright ink on black, nothing else" image that step expects:

1. decode safely with Pillow (a closed list of formats, a pixel bound checked from the header
   before any decoding, EXIF orientation honoured, first frame of an animation);
2. flatten every pixel mode (16-bit, CMYK, palette, alpha) to grey in [0, 1];
3. find the ink: the paper's light fitted and divided out (gradients, vignettes, shadows),
   polarity from which side of the paper the strongest marks lie, Otsu threshold, specks and
   border shadows dropped, the ink kept with its grey levels.

A clean white-on-black canvas PNG passes step 3 unchanged, so it gives exactly what
`preprocess_canvas` gives for the same drawing.
"""

from __future__ import annotations

import io
import os
import re
import warnings
from pathlib import Path
from typing import BinaryIO

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from digits.data import DataError
from digits.preprocess import center_digit

# Decompression-bomb bounds, checked on the header before decoding. 40 MP is above any phone
# photo (12-24 MP saved) and an A4 scan at 600 dpi (35 MP); decoding that is ~160 MB at most.
MAX_PIXELS = 40_000_000
MAX_SIDE = 20_000  # also caps the extreme aspect ratios a strip-shaped bomb could use
MAX_FILE_BYTES = 100 * 1024 * 1024
# Pillow's own warning fires at 89 MP; our bound is lower and checked right after open.
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)

# Pillow decoders we let see untrusted bytes; fewer plugins, less attack surface.
FORMATS = ("PNG", "JPEG", "BMP", "TIFF", "WEBP", "GIF")
EXTENSIONS = ("png", "jpg", "jpeg", "bmp", "tif", "tiff", "webp", "gif")
FORMAT_NAMES = "PNG, JPEG, BMP, TIFF, WebP or GIF"

WORK_SIDE = 1024  # longest side we clean at: the digit ends up 20 px, this keeps thin pen lines
MIN_INK = 0.15  # ink must be at least 15 % darker (or brighter) than the paper around it
SPECK_SHARE = 0.05  # ink blobs smaller than 5 % of the largest one are dust or noise


class ImageError(DataError):
    """A file that cannot be read as a digit image; the message is meant for a person."""


Source = str | os.PathLike | bytes | BinaryIO


def read_digit(source: Source) -> np.ndarray:
    """Image file (path, bytes or binary file object) -> (28, 28) float32 model input in [0, 1]."""
    return image_to_input(read_gray(source))


def image_to_input(gray: np.ndarray) -> np.ndarray:
    """(H, W) grey image in [0, 1], any polarity -> (28, 28) model input; ImageError if blank."""
    x = center_digit(extract_ink(gray))
    if x is None:
        raise ImageError(NO_INK)
    return x


# --------------------------------------------------------------------------- decoding

NO_INK = ("no digit found: the image looks blank (it needs a dark digit on a light background "
          "or a light digit on a dark one)")


def read_gray(source: Source) -> np.ndarray:
    """Decode an image to (H, W) float32 grey in [0, 1], longest side at most WORK_SIDE."""
    fp = _open_bytes(source)
    try:
        im = Image.open(fp, formats=FORMATS)
    except UnidentifiedImageError:
        raise ImageError(f"not an image (or not a {FORMAT_NAMES} file)") from None
    except Image.DecompressionBombError as exc:  # so big that Pillow itself refused the header
        pixels = re.search(r"\((\d+) pixels\)", str(exc))
        raise ImageError(_too_many(f"{int(pixels[1]):,} pixels" if pixels else "too many pixels")) from None
    except Exception as exc:  # a damaged header can raise almost anything inside Pillow
        raise ImageError(f"damaged image header ({exc})") from None
    with im:
        w, h = im.size
        if w * h > MAX_PIXELS or max(w, h) > MAX_SIDE:
            raise ImageError(_too_big(w, h))
        if min(w, h) < 1:
            raise ImageError("the image has no pixels")
        try:
            # JPEG can decode at 1/2, 1/4 or 1/8 scale: a 12 MP photo never exists at full size.
            im.draft(None, (max(1, w * WORK_SIDE // max(w, h)), max(1, h * WORK_SIDE // max(w, h))))
            im.load()  # the first frame only, for GIF/WebP/TIFF animations and pages
            im = ImageOps.exif_transpose(im)  # phone photos store "rotate me" in EXIF
            factor = max(im.size) // (2 * WORK_SIDE)
            if factor > 1 and im.mode in ("L", "LA", "RGB", "RGBA", "CMYK", "I", "F"):
                im = im.reduce(factor)  # a box filter before going to float: 4-16x less memory
            gray = _to_gray(im)
        except ImageError:
            raise
        except Exception as exc:  # truncated data: OSError, SyntaxError, EOFError, zlib, ...
            raise ImageError(f"the image data is truncated or corrupt ({exc})") from None
    return _shrink(gray)


def _open_bytes(source: Source) -> BinaryIO:
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if path.is_dir():
            raise ImageError("is a folder, not an image file")
        if not path.is_file():
            raise ImageError("no such file")
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ImageError(f"file is larger than {MAX_FILE_BYTES // 2**20} MB")
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ImageError(f"cannot read the file ({exc.strerror or exc})") from None
    else:
        data = source.read(MAX_FILE_BYTES + 1)
    if not data:
        raise ImageError("empty file (0 bytes)")
    if len(data) > MAX_FILE_BYTES:
        raise ImageError(f"file is larger than {MAX_FILE_BYTES // 2**20} MB")
    return io.BytesIO(data)


def _too_big(w: int, h: int) -> str:
    return _too_many(f"{w}x{h} pixels")


def _too_many(size: str) -> str:
    return (f"image is too large: {size} (the limit is {MAX_PIXELS // 1_000_000} megapixels "
            f"and {MAX_SIDE} px a side)")


def _to_gray(im: Image.Image) -> np.ndarray:
    """Any Pillow mode -> (H, W) float32 grey in [0, 1], transparency composited away."""
    if im.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        x = np.asarray(im.convert("F") if im.mode != "F" else im, np.float32)
        peak = float(np.nanmax(x)) if x.size else 0.0
        # 16-bit files use 0..65535; some tools store 8-bit data in a 16/32-bit container.
        scale = 1.0 if peak <= 1.0 else 255.0 if peak <= 255.0 else 65535.0 if peak <= 65535.0 else peak
        return np.clip(np.nan_to_num(x) / scale, 0.0, 1.0)
    has_alpha = im.mode in ("LA", "La", "PA", "RGBA", "RGBa") or "transparency" in im.info
    # Pillow's "L" is ITU-R 601 luma in integers: grey pixels (canvas ink) keep their exact value.
    la = np.asarray(im.convert("LA" if has_alpha else "L"), np.float32) / 255.0
    if not has_alpha:
        return la
    gray, alpha = la[..., 0], la[..., 1]
    if alpha.min() == 1.0:
        return gray
    if alpha.sum() == 0:
        return np.zeros_like(gray)  # fully transparent: nothing drawn
    # Put the visible strokes on the backdrop they contrast with: dark ink (or an alpha-only
    # mask with black RGB) onto white, light ink onto black.
    backdrop = 1.0 if float((gray * alpha).sum() / alpha.sum()) < 0.5 else 0.0
    return gray * alpha + backdrop * (1.0 - alpha)


def _shrink(gray: np.ndarray) -> np.ndarray:
    h, w = gray.shape
    if max(h, w) <= WORK_SIDE:
        return gray
    s = WORK_SIDE / max(h, w)
    return cv2.resize(gray, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)


# --------------------------------------------------------------------------- finding the ink


def extract_ink(gray: np.ndarray) -> np.ndarray:
    """(H, W) grey in [0, 1] -> (H, W) ink in [0, 1]: bright ink, zero elsewhere."""
    x = np.asarray(gray, np.float32)
    if x.ndim != 2 or x.size == 0:
        raise ImageError(f"expected a 2-D image, got shape {x.shape}")
    small = _small(x)
    paper = _light_trend(small)
    if _ink_is_dark(small - paper):  # dark pen on paper: work in "ink is bright" terms
        x, small, paper = 1.0 - x, 1.0 - small, 1.0 - paper
    background = _background(small, paper, x.shape)
    # Dividing by the local paper brightness (not subtracting) also evens out shadows, which
    # dim paper and ink alike. On a clean black background this is the identity.
    ink = np.clip((x - background) / np.maximum(1.0 - background, 0.05), 0.0, 1.0)

    smooth = cv2.GaussianBlur(ink, (0, 0), 1.0) if min(ink.shape) >= 3 else ink
    if smooth.max() < MIN_INK:
        raise ImageError(NO_INK)
    otsu, _ = cv2.threshold((smooth * 255).astype(np.uint8), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    mask = smooth > max(otsu / 255.0, MIN_INK)

    mask = _drop_specks_and_shadows(mask)
    # Strokes keep their grey edges (anti-aliasing, pen pressure): a 2 px ring around the mask.
    ring = cv2.dilate(mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    # A stroke's core becomes full ink, as in MNIST, however faint the pen was.
    core = float(np.percentile(ink[mask], 90))
    return np.where(ring, np.clip(ink / max(core, MIN_INK), 0.0, 1.0), 0.0).astype(np.float32)


def _drop_specks_and_shadows(mask: np.ndarray) -> np.ndarray:
    """Keep the strokes: drop dust, and shadow or paper-edge blobs cut off by the border.

    A blob touching the border is dropped when it is much thicker than the strokes inside the
    image (a shadow's corner is a solid wedge, a pen line is not). A digit cropped tight to the
    border has no inner strokes to compare with, so it is kept whole.
    """
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    areas = stats[1:, cv2.CC_STAT_AREA]
    if len(areas) == 0:
        raise ImageError(NO_INK)
    keep = np.zeros(n, bool)
    keep[1:] = areas >= SPECK_SHARE * areas.max()

    x0, y0 = stats[:, cv2.CC_STAT_LEFT], stats[:, cv2.CC_STAT_TOP]
    x1, y1 = x0 + stats[:, cv2.CC_STAT_WIDTH], y0 + stats[:, cv2.CC_STAT_HEIGHT]
    h, w = mask.shape
    edge = (x0 == 0) | (y0 == 0) | (x1 == w) | (y1 == h)
    inner = keep & ~edge
    if inner.any() and (keep & edge).any():
        # Half-thickness of each blob: the largest distance from its inside to its outline.
        dist = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 3)
        radius = np.zeros(n, np.float32)
        np.maximum.at(radius, labels.ravel(), dist.ravel())
        keep &= ~(edge & (radius > 2 * radius[inner].max()))
    return keep[labels]


def _small(x: np.ndarray, side: int = 128) -> np.ndarray:
    """A copy about `side` px long: lighting varies slowly, and averaging also hides noise."""
    h, w = x.shape
    s = min(1.0, side / max(h, w))
    return cv2.resize(x, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)


def _light_trend(small: np.ndarray) -> np.ndarray:
    """The page's overall light: a quadratic surface fitted to the paper, strokes left out.

    A gradient or a vignette is exactly such a surface, right up to the image border (where a
    window filter would see a bright edge as a stroke). Strokes of either polarity are outliers
    and are dropped from the fit; on a clean black canvas the surface is exactly zero.
    """
    h, w = small.shape
    if h * w < 12:
        return np.full_like(small, np.median(small))
    v, u = np.mgrid[0:h, 0:w].astype(np.float32)
    u, v = (u + 0.5) / w - 0.5, (v + 0.5) / h - 0.5
    terms = np.stack([np.ones_like(u), u, v, u * u, u * v, v * v], axis=-1).reshape(-1, 6)
    z = small.ravel()
    r = z - np.median(z)  # start from a flat page
    use = np.ones(z.size, bool)
    for _ in range(4):
        spread = 3 * 1.4826 * np.median(np.abs(r[use] - np.median(r[use])))  # 3 sigma, robustly
        if (np.abs(r) <= spread).sum() >= 12:
            use = np.abs(r) <= spread
        a = terms[use]
        coef = np.linalg.lstsq(a.T @ a, a.T @ z[use], rcond=None)[0]  # 6x6 normal equations: fast
        r = z - terms @ coef
    return (terms @ coef).reshape(h, w).astype(np.float32)


def _ink_is_dark(residual: np.ndarray) -> bool:
    """Polarity: are the strongest departures from the paper's light darker or brighter?"""
    r = cv2.GaussianBlur(residual, (3, 3), 0) if min(residual.shape) >= 3 else residual
    return float(-r.min()) > float(r.max())  # single noisy pixels were blurred away


def _background(small: np.ndarray, trend: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Paper level under bright ink, at full size: the light trend plus local shading.

    Local shading (a shadow's edge) is what a grey opening keeps: it removes every bright
    structure narrower than its window, i.e. the strokes. Outside the image the opening sees
    nothing, so a stroke along the border is still a stroke.
    """
    k = min(small.shape) // 4 * 2 + 1  # odd, about 1/2 of the short side
    paper = trend
    if k >= 3:
        kernel = np.ones((k, k), np.uint8)  # a square: separable, so fast at any size
        local = cv2.morphologyEx(small - trend, cv2.MORPH_OPEN, kernel)
        paper = trend + cv2.blur(local, (k, k))  # no blocky edges
    return cv2.resize(paper, (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)
