"""Identical specs give identical bytes: across calls, threads and processes."""
import hashlib
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from engine.render import render
from engine.spec import RenderSpec

SPECS = [
    RenderSpec(n=120, k=49, omega=2.5, xi=1.8, psi=0.0, lock_psi_tau=True, duration_seconds=4),
    RenderSpec(n=2000, k=1000, omega=-7.0, xi=-6.0, psi=5.5, lock_psi_tau=False, tempo=73, duration_seconds=3),
]


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("fmt", ["wav", "mp3", "midi"])
def test_threads_agree_with_a_fresh_process(fmt):
    spec = SPECS[0].with_(format=fmt)
    with ThreadPoolExecutor(max_workers=3) as pool:
        digests = set(pool.map(lambda _: digest(render(spec)), range(3)))
    assert len(digests) == 1
    code = (
        "import hashlib, json, sys; from engine.render import render; from engine.spec import RenderSpec; "
        f"print(hashlib.sha256(render(RenderSpec.from_dict(json.loads({spec.canonical_json()!r})))).hexdigest())"
    )
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert other.stdout.strip() == digests.pop()


def test_different_music_gives_different_bytes():
    a = render(SPECS[1].with_(format="midi"))
    assert a == render(SPECS[1].with_(format="midi"))
    assert a != render(SPECS[1].with_(format="midi", omega=-6.0))
