"""A corpus of awkward and broken files, run through every file and CSV entry point.

Entry points: the image loader, `python -m digits predict`, the app's Upload page (AppTest),
the Kaggle CSV reader, `python -m digits predict-csv` and `train.py --kaggle-csv`. Each case
names the exact message or the digit; nothing may crash or print a traceback. (A real
`python -m digits predict` process with a bad file among good ones is in test_cli_predict.)
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from digits.cli import main, train_main
from digits.data import DataError, read_kaggle_csv
from digits.images import ImageError, read_digit
from digits.training.kaggle import predict_csv
from tests.conftest import REPO
from tests.samples import KAGGLE_HEADER, encode, photo_of, png_header

NOT_IMAGE = "not an image (or not a PNG, JPEG, BMP, TIFF, WebP or GIF file)"
CORRUPT = "the image data is truncated or corrupt"
BLANK = "no digit found: the image looks blank"
TOO_LARGE = "image is too large: "
LIMIT = "(the limit is 40 megapixels and 20000 px a side)"

# MNIST test images used below, with their labels: 0 -> 7, 1 -> 2, 2 -> 1, 3 -> 0, 4 -> 4.
SEVEN, TWO, ONE, ZERO, FOUR = 0, 1, 2, 3, 4


@dataclass
class Case:
    name: str  # file name, extension included (sometimes a misleading one on purpose)
    data: bytes
    expect: int | str  # the digit, or the start of the error message


def big(digit: np.ndarray, side: int = 240) -> np.ndarray:
    """An MNIST digit scaled up smoothly: white ink on black, uint8."""
    return cv2.resize(digit, (side, side), interpolation=cv2.INTER_CUBIC)


def image_cases(mnist) -> list[Case]:
    d = {i: big(mnist.x_test[i]) for i in (SEVEN, TWO, ONE, ZERO, FOUR)}
    paper = {i: 255 - img for i, img in d.items()}  # dark ink on white paper
    png, jpg = encode(Image.fromarray(paper[TWO]), "PNG"), encode(Image.fromarray(paper[TWO]), "JPEG")
    noise = encode(Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64), np.uint8)), "PNG")
    crc = bytearray(noise)
    crc[60] ^= 0xFF  # damage the compressed pixel data
    gif_bomb = (b"GIF89a" + (65535).to_bytes(2, "little") * 2 + b"\x00\x00\x00,\x00\x00\x00\x00"
                + (65535).to_bytes(2, "little") * 2 + b"\x00\x02\x02D\x01\x00;")

    def enc(array_or_image, fmt, **kw):
        im = array_or_image if isinstance(array_or_image, Image.Image) else Image.fromarray(array_or_image)
        return encode(im, fmt, **kw)

    alpha_only = np.zeros((240, 240, 4), np.uint8)
    alpha_only[..., 3] = d[SEVEN]  # black everywhere; the digit lives only in the alpha channel
    white_on_clear = np.full((240, 240, 4), 255, np.uint8)
    white_on_clear[..., 3] = d[SEVEN]
    la = Image.fromarray(np.stack([np.zeros_like(d[FOUR]), d[FOUR]], axis=-1), "LA")
    palette = Image.fromarray(paper[ONE]).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    clear_palette = Image.fromarray(d[ZERO]).convert("P")
    clear_palette.info["transparency"] = 0  # palette entry 0 (black) is see-through
    frames = [Image.fromarray(paper[SEVEN]).convert("P"), Image.fromarray(paper[TWO]).convert("P")]
    strip = np.full((80, 2400), 255, np.uint8)
    strip[5:75, 1165:1235] = cv2.resize(paper[SEVEN], (70, 70), interpolation=cv2.INTER_AREA)
    huge = cv2.resize(photo_of(mnist.x_test[TWO], np.random.default_rng(3)), (4000, 3000))

    return [
        # Not images, empty, damaged.
        Case("notes.png", b"shopping list: milk, eggs\n", NOT_IMAGE),
        Case("empty.png", b"", "empty file (0 bytes)"),
        Case("page.png", b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n", NOT_IMAGE),
        Case("drawing.png", b'<svg xmlns="http://www.w3.org/2000/svg"><circle r="5"/></svg>', NOT_IMAGE),
        Case("index.jpg", b"<!doctype html><title>404</title>", NOT_IMAGE),
        Case("icon.png", enc(paper[SEVEN], "ICO"), NOT_IMAGE),  # a real image, not an accepted format
        Case("signature-only.png", png[:8], NOT_IMAGE),
        Case("truncated.png", png[: len(png) // 2], CORRUPT),
        Case("truncated.jpg", jpg[: len(jpg) // 2], CORRUPT),
        Case("bad-crc.png", bytes(crc), CORRUPT),
        Case("garbage-body.jpg", jpg[:200] + bytes(range(256)) * 8, CORRUPT),
        # Decompression bombs: a few bytes declaring billions of pixels, refused from the header.
        Case("bomb.png", png_header(100_000, 100_000), f"{TOO_LARGE}10,000,000,000 pixels {LIMIT}"),
        Case("bomb-41mp.png", png_header(8000, 5125), f"{TOO_LARGE}8000x5125 pixels {LIMIT}"),
        Case("bomb-strip.png", png_header(30_000, 10), f"{TOO_LARGE}30000x10 pixels {LIMIT}"),
        Case("bomb.gif", gif_bomb, f"{TOO_LARGE}4,294,836,225 pixels {LIMIT}"),
        # Nothing drawn.
        Case("white.png", enc(np.full((200, 300), 255, np.uint8), "PNG"), BLANK),
        Case("black.png", enc(np.zeros((200, 300), np.uint8), "PNG"), BLANK),
        Case("grey.jpg", enc(np.full((200, 300), 128, np.uint8), "JPEG"), BLANK),
        Case("1x1.png", enc(np.zeros((1, 1), np.uint8), "PNG"), BLANK),
        Case("1x5000.png", enc(np.full((5000, 1), 255, np.uint8), "PNG"), BLANK),
        Case("transparent.png", enc(np.zeros((100, 100, 4), np.uint8), "PNG"), BLANK),
        # Unusual but fine: every pixel mode, format, orientation and shape reads the digit.
        Case("16-bit.png", enc(paper[SEVEN].astype(np.uint16) * 257, "PNG"), 7),
        Case("16-bit.tif", enc(paper[TWO].astype(np.uint16) * 257, "TIFF"), 2),
        Case("cmyk.jpg", enc(Image.fromarray(paper[TWO]).convert("CMYK"), "JPEG"), 2),
        Case("palette.png", enc(palette, "PNG"), 1),
        Case("palette-transparency.png", enc(clear_palette, "PNG"), 0),
        Case("grey-alpha.png", enc(la, "PNG"), 4),
        Case("alpha-only.png", enc(alpha_only, "PNG"), 7),
        Case("white-on-transparent.png", enc(white_on_clear, "PNG"), 7),
        Case("animated.gif", encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=200), 7),
        Case("1-bit.bmp", enc(Image.fromarray(paper[ONE]).convert("1"), "BMP"), 1),
        Case("rgb.bmp", enc(np.repeat(paper[ZERO][..., None], 3, axis=2), "BMP"), 0),
        Case("lossy.webp", enc(paper[TWO], "WEBP", quality=60), 2),
        Case("progressive.jpg", enc(paper[FOUR], "JPEG", progressive=True, quality=80), 4),
        Case("png-named.jpg", enc(paper[SEVEN], "PNG"), 7),
        Case("jpeg-named.png", enc(paper[TWO], "JPEG"), 2),
        Case("strip-2400x80.png", enc(strip, "PNG"), 7),
        Case("phone-12mp.jpg", enc(huge, "JPEG", quality=85), 2),
        # Phone photos stored sideways or upside down with an EXIF "rotate me" tag.
        Case("exif-rotated-1.jpg", _exif(np.rot90(paper[ONE]), 6), 1),  # needs 90 deg clockwise
        Case("exif-upside-down-7.jpg", _exif(np.rot90(paper[SEVEN], 2), 3), 7),
    ]


def _exif(pixels: np.ndarray, orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation  # Orientation
    return encode(Image.fromarray(np.ascontiguousarray(pixels)), "JPEG", quality=90, exif=exif)


@pytest.fixture(scope="module")
def images(mnist, tmp_path_factory) -> list[tuple[Case, Path]]:
    folder = tmp_path_factory.mktemp("bad-images")
    out = []
    for case in image_cases(mnist):
        path = folder / case.name
        path.write_bytes(case.data)
        out.append((case, path))
    return out


def test_the_corpus_is_big_enough(images, csvs):
    assert len(images) + len(csvs) >= 30
    print(f"bad-input corpus: {len(images)} images + {len(csvs)} CSVs = {len(images) + len(csvs)} cases")


def test_image_loader(images, predictor):
    for case, path in images:
        for source in (path, case.data):  # a file on disk and an upload's bytes
            if isinstance(case.expect, str):
                with pytest.raises(ImageError) as err:
                    read_digit(source)
                assert str(err.value).startswith(case.expect), case.name
            else:
                assert predictor.predict(read_digit(source)).digit == case.expect, case.name


def test_exif_orientation_is_honoured(images):
    """The "1" stored sideways with an EXIF tag comes out upright, not as a dash."""
    data = {case.name: case.data for case, _ in images}
    upright = Image.open(io.BytesIO(data["exif-rotated-1.jpg"]))
    assert upright.getexif()[0x0112] == 6 and upright.width > 0
    x = read_digit(data["exif-rotated-1.jpg"])
    ys, xs = np.nonzero(x > 0.5)
    assert np.ptp(ys) > 2 * np.ptp(xs)  # tall and thin: a "1", not a "-"


def test_missing_files_and_folders(tmp_path):
    for path, message in ((tmp_path / "nope.png", "no such file"), (tmp_path, "is a folder, not an image file")):
        with pytest.raises(ImageError, match=message):
            read_digit(path)


def test_predict_cli_reports_each_bad_file_and_reads_the_rest(images, tmp_path, capsys):
    paths = [path for _, path in images] + [tmp_path / "missing.png"]
    assert main(["predict", "--json", *map(str, paths)]) == 2
    out, err = capsys.readouterr()
    lines = {line["file"]: line for line in map(json.loads, out.splitlines())}
    assert list(lines) == [str(p) for p in paths]  # one JSON object per file, in order
    for case, path in images:
        line = lines[str(path)]
        if isinstance(case.expect, str):
            assert line["error"].startswith(case.expect), case.name
            assert f"error: {path}: {case.expect}" in err
        else:
            assert line["digit"] == case.expect and abs(sum(line["probabilities"]) - 1) < 1e-4, case.name
    assert lines[str(tmp_path / "missing.png")]["error"] == "no such file"
    n_bad = sum(isinstance(c.expect, str) for c, _ in images) + 1
    assert err.endswith(f"error: {n_bad} of {len(paths)} files could not be read\n")
    assert "Traceback" not in err


def test_app_upload(images):
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.switch_page("webapp/pages/upload.py").run()
    assert at.title[0].value == ":material/upload: Read an image" and not at.exception
    for case, _ in images:
        at.file_uploader(key="upload").set_value((case.name, case.data, "application/octet-stream")).run()
        assert not at.exception, case.name
        errors = [e.value.replace("\\", "") for e in at.error]
        if isinstance(case.expect, str):
            assert len(errors) == 1 and errors[0].startswith(f"This file cannot be read: {case.expect}"), case.name
        else:
            assert not errors, case.name
            shown = [md.value for md in at.markdown if "data-testid='prediction'" in md.value]
            assert shown and f">{case.expect}<" in shown[-1], case.name
            assert at.image and at.get("vega_lite_chart"), "the image as read, the chart"
            assert "data:image/png;base64," in shown[-1], "the 28x28 input"


# --------------------------------------------------------------------------- CSV files


def csv_cases(mnist) -> list[tuple[str, bytes, dict[str, str | None]]]:
    """(name, content, expected message per entry point: reader/predict/train; None = accepted)."""
    rows = [f"{mnist.y_test[i]}," + ",".join(map(str, mnist.x_test[i].ravel())) for i in range(40)]
    test_rows = [r.split(",", 1)[1] for r in rows]
    head = "label," + KAGGLE_HEADER

    def train_file(lines: list[str]) -> bytes:
        return ("\n".join([head, *lines]) + "\n").encode()

    def swap(row: str, column: int, value: str) -> str:
        cells = row.split(",")
        cells[column] = value
        return ",".join(cells)

    late = rows * 60  # 2400 rows: the bad one sits in the third chunk
    late[2200] = swap(late[2200], 300, "x7")
    everywhere = {"reader": None, "predict": None, "train": None}

    def same(message: str) -> dict[str, str]:
        return {"reader": message, "predict": message, "train": message}

    return [
        ("empty.csv", b"", same("empty.csv: empty file (expected the header label,pixel0,...,pixel783 "
                                "or pixel0,...,pixel783)")),
        ("header-only.csv", train_file([]), same("header-only.csv: no image rows after the header")),
        ("no-header.csv", train_file(rows[:5])[len(head) + 1:],
         same("no-header.csv, line 1: missing header row: expected label,pixel0,...,pixel783 (train) or "
              "pixel0,...,pixel783 (test), found '7,0,0,0,0,0,...'")),
        ("wrong-header.csv", train_file(rows[:5]).replace(b"pixel5,", b"pixel_5,"),
         same("wrong-header.csv, line 1: wrong header row: expected label,pixel0,...,pixel783 (train) or "
              "pixel0,...,pixel783 (test), found 'label,pixel0,pixel1,pixel2,pixel3,pixel4,...'")),
        ("tabs.csv", train_file(rows[:3]).replace(b",", b"\t"),
         same("tabs.csv, line 1: wrong header row: expected label,pixel0,...,pixel783 (train) or "
              "pixel0,...,pixel783 (test), "
              "found 'label\\tpixel0\\tpixel1\\tpixel2\\tpixel3\\tpixel4\\tpixel5\\tpixel6\\tpi...'")),
        ("short-row.csv", train_file(rows[:2] + [rows[2].rsplit(",", 1)[0]]),
         same("short-row.csv, line 4: expected 785 columns (label,pixel0,...,pixel783), found 784")),
        ("long-row.csv", train_file([rows[0] + ",0"]),
         same("long-row.csv, line 2: expected 785 columns (label,pixel0,...,pixel783), found 786")),
        ("words.csv", train_file(rows[:3] + [swap(rows[3], 18, "dark")]),
         same("words.csv, line 5, column pixel17: 'dark' is not a whole number")),
        ("decimals.csv", train_file([swap(rows[0], 1, "12.5")]),
         same("decimals.csv, line 2, column pixel0: '12.5' is not a whole number")),
        ("too-bright.csv", train_file([rows[0], swap(rows[1], 400, "256")]),
         same("too-bright.csv, line 3, column pixel399: 256 is out of range 0-255")),
        ("negative.csv", train_file([swap(rows[0], 784, "-3")]),
         same("negative.csv, line 2, column pixel783: -3 is out of range 0-255")),
        ("label-10.csv", train_file([swap(rows[0], 0, "10")]),
         same("label-10.csv, line 2, column label: 10 is out of range 0-9")),
        ("late-error.csv", train_file(late),
         same("late-error.csv, line 2202, column pixel299: 'x7' is not a whole number")),
        ("image.csv", encode(Image.new("L", (50, 50)), "PNG"),
         same("image.csv: not a text CSV file (it holds binary data)")),
        ("one-endless-line.csv", b"0," * 200_000,
         same("one-endless-line.csv, line 1: longer than 16384 characters; not a Kaggle digit CSV")),
        # Kaggle's test.csv: fine to predict, but there is nothing to train on.
        ("test.csv", ("\n".join([KAGGLE_HEADER, *test_rows]) + "\n").encode(),
         {"reader": None, "predict": None,
          "train": "test.csv: no label column; training needs the header label,pixel0,...,pixel783 "
                   "(this looks like Kaggle's test.csv)"}),
        # A spreadsheet's export: byte-order mark, Windows line ends, a blank line at the end.
        ("excel.csv", ("\ufeff" + "\r\n".join([head, *rows]) + "\r\n\r\n").encode(), everywhere),
    ]


@pytest.fixture(scope="module")
def csvs(mnist, tmp_path_factory) -> list[tuple[Path, dict]]:
    folder = tmp_path_factory.mktemp("bad-csv")
    out = []
    for name, data, expect in csv_cases(mnist):
        (folder / name).write_bytes(data)
        out.append((folder / name, expect))
    return out


def test_csv_reader(csvs):
    for path, expect in csvs:
        if expect["reader"] is None:
            images, labels = read_kaggle_csv(path, labels=None)
            assert images.shape[1:] == (28, 28) and images.dtype == np.uint8
        else:
            with pytest.raises(DataError) as err:
                read_kaggle_csv(path, labels=None)
            assert str(err.value) == f"{path.parent}/{expect['reader']}", path.name


def test_predict_csv_cli(csvs, predictor, tmp_path, capsys):
    for path, expect in csvs:
        out = tmp_path / f"{path.stem}-submission.csv"
        if expect["predict"] is None:  # the command's own function, with the model already loaded
            assert predict_csv(path, out, predictor) == 40, path.name
            assert out.read_text().startswith("ImageId,Label\n1,"), path.name
        else:  # bad input fails before the model loads
            assert main(["predict-csv", str(path), "--out", str(out)]) == 2, path.name
            stdout, stderr = capsys.readouterr()
            assert stderr == f"error: {path.parent}/{expect['predict']}\n", path.name
            assert not out.exists() and stdout == ""
    assert not list(tmp_path.glob(".*.tmp")), "no temporary files left behind"


def test_a_failure_keeps_the_previous_submission(csvs, predictor, tmp_path):
    out = tmp_path / "submission.csv"
    out.write_text("ImageId,Label\n1,3\n")
    late = next(path for path, _ in csvs if path.name == "late-error.csv")
    with pytest.raises(DataError, match="line 2202"):  # after 2048 rows were predicted and written
        predict_csv(late, out, predictor)
    assert out.read_text() == "ImageId,Label\n1,3\n"
    assert [p.name for p in tmp_path.iterdir()] == ["submission.csv"]


def test_train_kaggle_csv_refuses_bad_files(csvs, tmp_path, capsys):
    for path, expect in csvs:
        if expect["train"] is None:
            continue  # training on the good ones is test_kaggle_csv's smoke run
        assert train_main(["--kaggle-csv", str(path), "--epochs", "1", "--out", str(tmp_path / "m")]) == 2
        assert capsys.readouterr().err == f"error: {path.parent}/{expect['train']}\n", path.name
        assert not (tmp_path / "m").exists()


def test_csv_errors_in_real_processes(csvs, tmp_path):
    bad = {path.name: path for path, _ in csvs}
    for argv in (["-m", "digits", "predict-csv", str(bad["words.csv"]), "--out", str(tmp_path / "s.csv")],
                 ["train.py", "--kaggle-csv", str(bad["test.csv"]), "--out", str(tmp_path / "m")]):
        run = subprocess.run([sys.executable, *argv], cwd=REPO, capture_output=True, text=True, timeout=300)
        assert run.returncode == 2 and run.stderr.startswith("error: "), run.stderr
        assert "Traceback" not in run.stderr


def test_a_100_mb_csv_streams_in_bounded_memory(mnist, tmp_path):
    """Peak memory while reading stays the same for 10 MB and 100 MB: one chunk, not the file."""
    block = "".join(",".join(map(str, img.ravel())) + "\n" for img in mnist.x_test[:1000]).encode()
    script = (  # VmHWM is the process's peak resident memory (ru_maxrss survives exec, so not that)
        "import sys\n"
        "def mb(key): return int(next(l for l in open('/proc/self/status') if l.startswith(key)).split()[1]) / 1024\n"
        "from digits.data import iter_kaggle_csv\n"
        "start = mb('VmRSS:')\n"
        "n = sum(len(images) for images, _ in iter_kaggle_csv(sys.argv[1]))\n"
        "print(n, mb('VmHWM:') - start)\n"
    )
    growth = {}
    for size_mb in (10, 100):
        path = tmp_path / f"{size_mb}mb.csv"
        with open(path, "wb") as f:  # written block by block, never held whole
            f.write((KAGGLE_HEADER + "\n").encode())
            while f.tell() < size_mb * 1_000_000:
                f.write(block)
        run = subprocess.run([sys.executable, "-c", script, str(path)], cwd=REPO, capture_output=True,
                             text=True, timeout=120)
        assert run.returncode == 0, run.stderr
        n, growth[size_mb] = run.stdout.split()
        assert int(n) == (path.stat().st_size - len(KAGGLE_HEADER) - 1) // len(block) * 1000
    print(f"CSV streaming, peak memory growth: 10 MB file {float(growth[10]):.0f} MB, "
          f"100 MB file {float(growth[100]):.0f} MB")
    assert float(growth[100]) < 40  # the 100 MB file as Python strings would be several GB
    assert float(growth[100]) - float(growth[10]) < 10  # bounded: does not grow with the file
