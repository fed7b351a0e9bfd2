"""COCO RLE: our decoder agrees with pycocotools, encode → decode is exact, bad RLEs are refused."""

from __future__ import annotations

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from colorseg.errors import DataError
from colorseg.formats.rle import counts_from_string, decode_rle, encode_rle, rle_area_bbox, runs_to_mask


def _random_mask(seed: int, h: int = 37, w: int = 53) -> np.ndarray:
    rng = np.random.default_rng(seed)
    m = rng.random((h, w)) < 0.3
    m[5:20, 10:40] = True  # long runs as well as short ones
    return m


@pytest.mark.parametrize("seed", range(5))
def test_string_counts_match_pycocotools(seed: int) -> None:
    m = _random_mask(seed)
    coded = mask_utils.encode(np.asfortranarray(m.astype(np.uint8)))
    runs = counts_from_string(coded["counts"].decode("ascii"))
    uncompressed = mask_utils.frPyObjects({"size": list(m.shape), "counts": runs}, *m.shape)
    assert uncompressed["counts"] == coded["counts"]  # pycocotools re-encodes our runs to the same string
    np.testing.assert_array_equal(runs_to_mask(runs, *m.shape), mask_utils.decode(coded).astype(bool))


@pytest.mark.parametrize("seed", range(3))
def test_encode_decode_round_trip(seed: int) -> None:
    m = _random_mask(seed)
    rle = encode_rle(m)
    assert isinstance(rle["counts"], str) and rle["size"] == [37, 53]
    np.testing.assert_array_equal(decode_rle(rle, 37, 53), m)


def test_uncompressed_counts_are_column_major_zeros_first() -> None:
    # 2x3 image; column-major pixel order: (0,0), (1,0), (0,1), (1,1), (0,2), (1,2)
    out = decode_rle({"size": [2, 3], "counts": [1, 2, 3]}, 2, 3)
    np.testing.assert_array_equal(out, [[False, True, False], [True, False, False]])
    assert decode_rle({"size": [2, 3], "counts": [0, 6]}, 2, 3).all()


def test_area_and_bbox() -> None:
    m = np.zeros((10, 12), dtype=bool)
    m[2:5, 3:9] = True
    area, bbox = rle_area_bbox(encode_rle(m))
    assert area == 18 and bbox == [3.0, 2.0, 6.0, 3.0]


@pytest.mark.parametrize("seg, message", [
    ({"counts": [6]}, "no 'size'"),
    ({"size": [2, 3]}, "no 'counts'"),
    ({"size": [3, 2], "counts": [6]}, "does not match the image's 3x2"),
    ({"size": "2x3", "counts": [6]}, "must be [height, width]"),
    ({"size": [2, 3], "counts": [1, 2]}, "cover 3 pixels"),
    ({"size": [2, 3], "counts": [4, -1, 3]}, "non-negative integers"),
    ({"size": [2, 3], "counts": 6}, "must be a string"),
    ({"size": [2, 3], "counts": "5"}, "cover 5 pixels"),  # a valid string of the wrong pixel count
    ({"size": [2, 3], "counts": "\x7f"}, "invalid character"),
    ({"size": [2, 3], "counts": "o"}, "truncated"),  # continuation bit set on the last character
])
def test_bad_rle_is_refused_with_a_clear_error(seg: dict, message: str) -> None:
    with pytest.raises(DataError, match="ann.json: annotation 4") as err:
        decode_rle(seg, 2, 3, where="ann.json: annotation 4")
    assert message in str(err.value)
