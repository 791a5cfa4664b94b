"""The C corpus (c.txt): which sdists, which of their files, and how the kept files are laid out.

A port of the C part of ../shared/data/build/make_corpora.py, whose output this must reproduce
byte for byte (train/prepare.py checks the published sha256). train/corpus_builders.py downloads
the sdists and hands their files here; this module does no network or tool work of its own.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

from rnnlm.corpus import MAX_TABLE_SHARE, decode_source, file_block, table_share


class CPackage(NamedTuple):
    """One sdist. Only its *.c / *.h members are looked at; include and exclude are matched in full
    against the member path without the sdist's top folder ("numpy-2.4.6/")."""
    name: str
    version: str
    sha256: str  # of the sdist: PyPI files never change, so another hash means a damaged download
    include: str
    exclude: str | None = None

    @property
    def requirement(self) -> str:
        return f"{self.name}=={self.version}"


# A vendored library is taken from one package only, so the corpus holds each copy once.
C_PACKAGES = (
    CPackage("numpy", "2.4.6", "f3a3570c4a2a16746ac2c31a7c7c7b0c186b95ce902e33db6f28094ed7387dda",
             r"numpy/_core/(include|src)/.*|numpy/random/(include|src)/.*|numpy/f2py/src/.*"
             r"|numpy/linalg/lapack_litemodule\.c",
             # vendored C++, tests, and pristine upstream copies (*.orig.c) of the RNGs
             r".*/(highway|x86-simd-sort|libdivide|tests?)/.*|.*\.orig\.[ch]"),
    CPackage("pillow", "13.0.0", "cdcd1ba258178f7356d74170c9a81ba4eab6a5d55748bc402a5a2a6fe6be3510",
             r"src/(Tk/|libImaging/|thirdparty/(raqm|fribidi-shim)/)?[^/]+"),
    CPackage("psutil", "7.2.2", "0746f5f8d406af344fd547f1c8daa5f5c33dbc293bb8d6a16d80b4bb88f59372",
             r"psutil/.*"),
    CPackage("regex", "2026.11.19", "2826a006b68acfd3ed5074433caafe21d7f9d026eb82cb856724a4a893a70915",
             r"src/.*", r"src/_regex_unicode\.h"),  # generated along with _regex_unicode.c
    CPackage("pycryptodome", "4.4.0", "eab7620c60c85f3fa251d026ec06e094f036d96187bebb9752e46fbcebabbb55",
             r"src/.*", r"src/test/.*|src/mldsa-native/src/fips202/.*"),  # fips202 is in mlkem-native too
    CPackage("simplejson", "4.3.0", "ffe34ab51a0d37e6d1c661a5672df00d2d5e18804e38eac07abffb83fa5ec3d7",
             r"simplejson/.*"),
    CPackage("wrapt", "2.5.2", "551cb49e88b3722faad780303833bc4fa70685fb1773270fb98b40d39d9fddbf",
             r"src/wrapt/.*"),
    CPackage("ujson", "6.1.0", "aef7ea4cd9e2e9f8a35c4538a9780d58c80d76c5da66a8dad269b4cc6d930c29",
             r"src/ujson/[^/]+"),  # deps/double-conversion is C++
    CPackage("mmh3", "5.3.1", "bd86d0c86b52332319d981d03781ff77811a29db544a69902dc06b5506bb3e19",
             r"src/mmh3/.*"),
    CPackage("bitarray", "3.12.3", "919e35a951c0a551631b94bf568f3f5e38d004e0c60866cb2ca51bd8c4778fec",
             r"bitarray/.*", r".*/pythoncapi_compat\.h"),  # pythoncapi_compat.h: numpy's copy
    CPackage("multidict", "7.2.1", "e8af3e6f1bdbc31fd762b094133b478b89988eaebc63cbe82b1d9e3bbd15cede",
             r"multidict/.*", r".*/pythoncapi_compat\.h"),
    CPackage("psycopg2", "2.9.13", "d36784fc2dae69523ba4b79c7d1d1b4d6e83e87836874f111262f4db940b16a6",
             r"psycopg/.*"),
    CPackage("httptools", "0.9.0", "d484ebb7e3a3f3597b0f645fbd1b85633674ca808c1f5ba11c2caf7c66f5c8b6",
             # llhttp.c / llhttp.h are llparse output; test.c is HTTP test messages
             r"vendor/http-parser/.*|vendor/llhttp/src/(api|http)\.c", r"vendor/http-parser/test\.c"),
    CPackage("pynacl", "1.6.2", "018494d6d696ae03c7e656e5e74cdfd8ea1326962cc401bcf018f1ed8436811c",
             r"src/libsodium/src/libsodium/.*|src/bindings/.*"),
    CPackage("cffi", "2.1.1", "dd31f52ea1086513bb9df30f8fcee9b8918323ae067a3d5b78bc826a000712be",
             r"src/c/[^/]+|src/c/libffi_x86_x64/.*|src/cffi/.*"),
    CPackage("cmarkgfm", "2025.10.22", "5bec61007b65b919488442c838c58a6c8bf4741f5103c593b2ef180d39818eda",
             r"third_party/cmark/(src|extensions)/.*|src/cmarkgfm/.*"),
    CPackage("pycares", "5.2.1", "3e89edc56a3745046676207958bf3dbf2971c5df0d64de9f7a893eba8bf255b4",
             r"deps/c-ares/(include|src)/.*"),
    CPackage("pygit2", "1.21.0", "1e987fbef899d1bf12aecc10b33acc917d60266ca114428dfc260df4451a555f",
             r"src/.*|pygit2/decl/.*"),
    CPackage("msgpack", "1.2.4", "475c44e12f2a5de766a8448783f149c9b33f3f49b88953c6cd739a77d93c732c",
             r"msgpack/[^/]+\.h"),  # its .c is Cython output
    CPackage("uvloop", "0.23.0", "28d160f51ab4da3b187063652e643dea6831072add4adc1e6d62afbe73b6be27",
             r"vendor/libuv/(include|src)/.*"),
    CPackage("gevent", "26.9.0", "4dd4703d71737a456c1c9df5cd43a82934e5b10c87549caa02495f487d1ef0b1",
             r"deps/libev/.*|src/gevent/(libev|libuv)/[^/]+"),  # its libuv and c-ares: uvloop's, pycares'
    CPackage("zstandard", "0.25.0", "7713e1179d162cf5c7906da876ec2ccb9c3a9dcbdffef0cc7f70c3667a205f0b",
             r"c-ext/.*", r".*/pythoncapi_compat\.h"),  # its zstd/ is the 2.2 MB single-file build
    CPackage("backports-zstd", "1.8.0", "9dae4f4c481716e3db473d667457b4f508ff7459c0931b567a5c9677fb3db316",
             r"src/c/zstd/lib/((common|compress|decompress|dictBuilder|deprecated)/)?[^/]+"
             r"|src/c/compression_zstd/[^/]+|src/c/compat/.*",
             r".*/xxhash\.[ch]"),  # xxhash is lz4's copy
    CPackage("lz4", "4.4.5", "5f0b9e53c1e82e88c10d7c180069363980136b9d7a8306c4dca4f760d60c39f0",
             r"lz4libs/.*|lz4/.*"),
    CPackage("brotli", "1.2.1", "02b2f7b5a83485efe448a44ddf7983def05c3bb1dcf917d4f7154070260e13de",
             r"c/(common|dec|enc|include/brotli|tools)/.*|python/.*"),
)

MAX_FILE_BYTES = 1_000_000
# Machine-generated C, looked for in a file's first 50 lines.
GENERATED = re.compile(
    r"generated by cython|generated by swig|automatically generated|do not edit"
    r"|generated by re2c|made by gnu bison|\b(this|the) file (is|was|has been) (auto-?)?generated"
    r"|^\W*(auto-?)?generated (by|from)\b|auto-?generated by|generated automatically"
    r"|generated (from \S+ )?by (configure|autoheader|cmake)|(do not|don't) modify",
    re.IGNORECASE | re.MULTILINE)
# C++ that some packages keep in .h files; a C header with a `__cplusplus`-guarded part is kept.
CPLUSPLUS = re.compile(
    r"^\s*(template\s*<|namespace\s+\w+\s*\{|class\s+\w+\s*(final\s*)?[:{]"
    r"|(public|private|protected)\s*:\s*$|using\s+namespace\s)", re.MULTILINE)


def member_pattern(package: CPackage) -> str:
    """One regex for corpus_builders.sdist_files: any top folder, then a *.c / *.h path that include
    matches and exclude does not (both in full, as make_corpora.py matches them)."""
    exclude = rf"(?!(?:{package.exclude})\Z)" if package.exclude else ""
    return rf"[^/]+/{exclude}(?=.*\.[ch]\Z)(?:{package.include})"


def header_path(package: CPackage, member: str) -> str:
    """'numpy/numpy/_core/src/x.c' for 'numpy-2.4.6/numpy/_core/src/x.c': the package, not the sdist folder."""
    return f"{package.name}/{member.split('/', 1)[-1]}"


def clean_c(text: str) -> str:
    """LF endings, no BOM, no trailing blanks, exactly one newline at the end."""
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    text = "\n".join(line.rstrip(" \t\f\v") for line in text.split("\n"))
    return text.strip("\n") + "\n"


def drop_reason(text: str, raw_size: int) -> str | None:
    """Why a cleaned file stays out of the corpus (the first filter that applies), or None."""
    if raw_size > MAX_FILE_BYTES:
        return "over 1 MB"
    if GENERATED.search("\n".join(text.split("\n", 50)[:50])):
        return "generated"
    if CPLUSPLUS.search(text) and "__cplusplus" not in text:
        return "C++"
    if table_share(text) > MAX_TABLE_SHARE:
        return "numeric table"
    return None


def kept_files(files: Iterable[tuple[str, bytes]]) -> dict[str, str]:
    """header path -> cleaned text of the files that pass the filters; of identical texts the first
    one given is kept, so files must come in C_PACKAGES order, each sdist's in member order."""
    kept, seen = {}, set()
    for path, raw in files:
        text = clean_c(decode_source(raw))
        if drop_reason(text, len(raw)):
            continue
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        if digest not in seen:
            seen.add(digest)
            kept[path] = text
    return kept


def c_corpus_text(files: Iterable[tuple[str, bytes]]) -> str:
    """c.txt from (header path, raw bytes) of the selected members. Files are ordered by the sha256
    of their header path, a fixed shuffle, so that the last 5% (validation) samples many packages."""
    kept = kept_files(files)
    order = sorted(kept, key=lambda path: hashlib.sha256(path.encode("utf-8")).hexdigest())
    return "".join(file_block(path, kept[path]) for path in order)


# ---------------------------------------------------------------- pip's metadata step
# pip download prepares each sdist's metadata, which for two of them needs more than pip brings
# (as ../shared/data/build/build_corpora.sh does):
# - psycopg2's setup.py asks pg_config (libpq-dev) for libpq's folders even then: a stand-in
#   answers every query with a dummy path;
# - numpy builds with meson-python, which has no metadata-only hook, so pip would compile all of
#   numpy (~15 min) to learn its name and version: a stand-in `mesonpy` backend hands pip the
#   sdist's own PKG-INFO instead (with --no-build-isolation, so that pip imports the stand-in).
PG_CONFIG = "#!/bin/sh\necho /nonexistent\n"
MESONPY = '''\
import os


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    with open("PKG-INFO", encoding="utf-8") as f:
        meta = f.read()
    head = meta.split("\\n\\n", 1)[0].splitlines()
    fields = dict(line.split(": ", 1) for line in head if ": " in line)
    name = "%s-%s.dist-info" % (fields["Name"].replace("-", "_"), fields["Version"])
    os.makedirs(os.path.join(metadata_directory, name))
    with open(os.path.join(metadata_directory, name, "METADATA"), "w", encoding="utf-8") as f:
        f.write(meta)
    return name


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    raise RuntimeError("metadata-only stand-in: builds nothing")
'''


def write_stand_ins(folder: Path) -> None:
    (folder / "pg_config").write_text(PG_CONFIG)
    (folder / "pg_config").chmod(0o755)
    (folder / "mesonpy.py").write_text(MESONPY)


def pip_setup(package: CPackage, stand_ins: Path) -> tuple[list[str], dict[str, str] | None]:
    """(extra pip download options, environment or None for the inherited one) for one sdist."""
    if package.name == "numpy":
        path = os.pathsep.join(filter(None, (str(stand_ins), os.environ.get("PYTHONPATH"))))
        return ["--no-build-isolation"], {**os.environ, "PYTHONPATH": path}
    if package.name == "psycopg2":
        return [], {**os.environ, "PATH": f"{stand_ins}{os.pathsep}{os.environ.get('PATH', '')}"}
    return [], None
