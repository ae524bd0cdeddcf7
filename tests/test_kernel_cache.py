"""Stale numba kernels are dropped when any of genome's sources change."""

from genome import kernel_cache


def test_cached_kernels_are_removed_once_per_source_change(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub" / "__pycache__").mkdir(parents=True)
    (pkg / "a.py").write_text("x = 1\n")
    (pkg / "sub" / "b.py").write_text("y = 2\n")
    stamp = pkg / "__pycache__" / "genome-kernels.stamp"
    cached = [pkg / "sub" / "__pycache__" / "b.f-1.py311.nbi", pkg / "sub" / "__pycache__" / "b.f-1.py311.1.nbc"]
    for c in cached:
        c.write_bytes(b"old machine code")
    keep = pkg / "sub" / "__pycache__" / "b.cpython-311.pyc"
    keep.write_bytes(b"bytecode")
    assert kernel_cache.check(pkg, stamp) is True  # no stamp yet: unknown provenance
    assert not any(c.exists() for c in cached) and keep.exists()
    for c in cached:
        c.write_bytes(b"new machine code")
    assert kernel_cache.check(pkg, stamp) is False  # same sources: the cache stays
    assert all(c.exists() for c in cached)
    (pkg / "a.py").write_text("x = 2\n")  # another module changed: every kernel may be stale
    assert kernel_cache.check(pkg, stamp) is True and not any(c.exists() for c in cached)
