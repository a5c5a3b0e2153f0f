"""Checks the wheels and the sdist in dist/ before they are published (`make wheels`, `make test`).

Every wheel: abi3 for CPython >= 3.9, a manylinux2014 (glibc 2.17) platform tag that auditwheel
confirms from the compiled module's symbols, a stripped module (no DWARF sections), the licence and
the metadata (MIT, one version with the crates). The sdist: the sources maturin needs to build
it (Cargo.lock, both crates, the Python package, the licence).

Usage: python .ci/check_dist.py DIST_DIR ARCH [ARCH ...]   (ARCH: x86_64, aarch64, sdist)
"""

from __future__ import annotations

import re
import subprocess
import sys
import tarfile
import tempfile
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VERSION = tomllib.loads((ROOT / "Cargo.toml").read_text())["workspace"]["package"]["version"]
MAX_MODULE_MB = 8.5  # stripped: 7.7 MB at 0.1.0 (7 MB of it code), against 8.8 MB with symbols


def fail(message: str) -> None:
    print(f"check_dist: {message}", file=sys.stderr)
    sys.exit(1)


def check_wheel(wheel: Path, arch: str) -> None:
    from elftools.elf.elffile import ELFFile  # shipped with auditwheel

    parts = wheel.name[:-len(".whl")].split("-")
    platforms = set(parts[-1].split(".")) if len(parts) == 5 else set()
    if parts[:4] != ["patronage", VERSION, "cp39", "abi3"] or platforms != {f"manylinux2014_{arch}",
                                                                           f"manylinux_2_17_{arch}"}:
        fail(f"{wheel.name}: expected patronage-{VERSION}-cp39-abi3-manylinux2014_{arch}.manylinux_2_17_{arch}.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        modules = [n for n in names if re.fullmatch(r"patronage/_core\.abi3\.so", n)]
        if not modules:
            fail(f"{wheel.name}: no patronage/_core.abi3.so in {names[:20]}")
        meta = zf.read(f"patronage-{VERSION}.dist-info/METADATA").decode()
        for line in ("License-Expression: MIT", f"Version: {VERSION}", "Requires-Python: >=3.9"):
            if line not in meta.splitlines():
                fail(f"{wheel.name}: METADATA lacks {line!r}")
        if not any(n.endswith("/licenses/LICENSE") for n in names):
            fail(f"{wheel.name}: no LICENSE in the .dist-info")
        for needed in ("patronage/py.typed", "patronage/_core.pyi", "patronage/datasets/cdnow_master.csv.gz"):
            if needed not in names:
                fail(f"{wheel.name}: {needed} missing")
        with tempfile.TemporaryDirectory() as tmp:
            so = Path(zf.extract(modules[0], tmp))
            size_mb = so.stat().st_size / 1e6
            with so.open("rb") as fh:
                elf = ELFFile(fh)
                machine = {"x86_64": "EM_X86_64", "aarch64": "EM_AARCH64"}[arch]
                if elf["e_machine"] != machine:
                    fail(f"{wheel.name}: module is {elf['e_machine']}, expected {machine}")
                debug = [s.name for s in elf.iter_sections() if s.name.startswith(".debug") or s.name == ".symtab"]
                if debug:
                    fail(f"{wheel.name}: module not stripped (sections {debug})")
    if size_mb > MAX_MODULE_MB:
        fail(f"{wheel.name}: module is {size_mb:.1f} MB (> {MAX_MODULE_MB} MB)")
    shown = subprocess.run([sys.executable, "-m", "auditwheel", "show", str(wheel)], capture_output=True,
                           text=True)
    text = " ".join(shown.stdout.split())
    if shown.returncode != 0 or f'consistent with the following platform tag: "manylinux_2_17_{arch}"' not in text:
        fail(f"{wheel.name}: auditwheel show does not confirm manylinux_2_17_{arch}:\n{shown.stdout}{shown.stderr}")
    print(f"check_dist: {wheel.name} ok (module {size_mb:.1f} MB, stripped; auditwheel: manylinux_2_17_{arch})")


def check_sdist(sdist: Path) -> None:
    if sdist.name != f"patronage-{VERSION}.tar.gz":
        fail(f"{sdist.name}: expected patronage-{VERSION}.tar.gz")
    with tarfile.open(sdist) as tf:
        names = {n.split("/", 1)[1] for n in tf.getnames() if "/" in n}
    needed = ["LICENSE", "Cargo.lock", "Cargo.toml", "pyproject.toml", "crates/patronage-core/src/lib.rs",
              "crates/patronage-py/src/lib.rs", "python/patronage/__init__.py", "python/patronage/py.typed",
              "python/patronage/datasets/cdnow_master.csv.gz"]
    missing = [n for n in needed if n not in names]
    if missing:
        fail(f"{sdist.name}: missing {missing}")
    print(f"check_dist: {sdist.name} ok ({len(names)} files)")


def main(argv: list) -> None:
    dist, kinds = Path(argv[1]), argv[2:]
    for kind in kinds:
        if kind == "sdist":
            found = sorted(dist.glob("patronage-*.tar.gz"))
        else:
            found = sorted(dist.glob(f"patronage-*_{kind}.whl"))
        if len(found) != 1:
            fail(f"expected one {kind} file in {dist}, found {[p.name for p in found]}")
        check_sdist(found[0]) if kind == "sdist" else check_wheel(found[0], kind)


if __name__ == "__main__":
    main(sys.argv)
