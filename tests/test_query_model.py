"""The question encoder's 4-bit feed-forward layers: the blocks handed to ONNX Runtime's
MatMulNBits hold exactly the weights the converted model holds (the slow real-model tests
compare the vectors themselves)."""

from __future__ import annotations

import numpy as np

from rag.e5_convert import _dequantize_q4, matmul_nbits_blocks


def random_q4_0(rows: int, cols: int, seed: int = 7) -> bytes:
    """A Q4_0 tensor: per block of 32, an fp16 scale and 16 bytes of nibbles."""
    rng = np.random.default_rng(seed)
    blocks = []
    for _ in range(rows * cols // 32):
        scale = np.float16(rng.uniform(-0.1, 0.1)).tobytes()
        blocks.append(scale + rng.integers(0, 256, 16, dtype=np.uint8).tobytes())
    return b"".join(blocks)


def unpack_matmul_nbits(packed: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """MatMulNBits' weights as its specification defines them: element 2i in the low nibble of
    byte i, 2i+1 in the high one, zero point 8, one scale per block of 32 along the input."""
    rows, blocks, _ = packed.shape
    low, high = packed & 0x0F, packed >> 4
    q = np.stack([low, high], axis=-1).reshape(rows, blocks, 32).astype(np.float32)
    return ((q - 8) * scales[..., None]).reshape(rows, blocks * 32)


def test_matmul_nbits_blocks_hold_the_same_weights_as_the_converted_model():
    rows, cols = 6, 96
    data = b"\x00" * 5 + random_q4_0(rows, cols)  # at an offset, as inside the model file
    packed, scales = matmul_nbits_blocks(data, 5, rows, cols)
    assert packed.shape == (rows, cols // 32, 16) and packed.dtype == np.uint8
    assert scales.shape == (rows, cols // 32) and scales.dtype == np.float32
    want = _dequantize_q4(data, 5, rows, cols)
    assert np.array_equal(unpack_matmul_nbits(packed, scales), want)


def test_a_different_layout_would_be_caught():
    rows, cols = 2, 64
    data = random_q4_0(rows, cols, seed=3)
    packed, scales = matmul_nbits_blocks(data, 0, rows, cols)
    swapped = (packed >> 4) | ((packed & 0x0F) << 4)  # nibbles the other way round
    assert not np.array_equal(
        unpack_matmul_nbits(swapped.astype(np.uint8), scales), _dequantize_q4(data, 0, rows, cols)
    )
