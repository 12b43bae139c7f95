# SPDX-License-Identifier: GPL-3.0-or-later
"""The project's own PEP 517 build backend: a pure wheel (and an sdist) written with the stdlib.

    python tools/build_wheel.py [--output-dir dist]      # what `make wheel` runs
    pip install .                                         # pip calls the hooks below

Why an in-tree backend: the version has one source, ``blender_manifest.toml`` (Blender's extension
builder needs it there), and building must work offline with no build requirements
(``requires = []`` in pyproject.toml, so ``pip install .`` needs nothing from an index).  Everything
else about the distribution is declared in ``pyproject.toml``'s ``[project]`` table; the fields
listed in its ``dynamic`` are taken from the manifest: ``version`` (``version``) and
``description`` (``tagline``).

The wheel holds the ``bvh_leakfree_addon`` package (its ``.py`` files) and the licence files;
it is reproducible (sorted entries, fixed timestamps: ``SOURCE_DATE_EPOCH`` or 1980-01-01).
``build_editable`` writes a wheel with a ``.pth`` file pointing at this checkout.
"""
import argparse
import base64
import hashlib
import io
import os
import re
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "bvh_leakfree_addon"
WHEEL_TAG = "py3-none-any"
GENERATOR = "bvh_leakfree_addon tools/build_wheel.py"
# Fields of [project] this backend can take from the manifest (pyproject's `dynamic`).
FROM_MANIFEST = {"version": "version", "description": "tagline"}
SUPPORTED = {"name", "version", "description", "readme", "license", "license-files",
             "requires-python", "dependencies", "optional-dependencies", "authors",
             "maintainers", "keywords", "classifiers", "urls", "dynamic"}


class ProjectError(ValueError):
    """pyproject.toml or blender_manifest.toml cannot describe a distribution."""


# ------------------------------------------------------------------------------------------------
# Metadata
# ------------------------------------------------------------------------------------------------

def project(root=ROOT):
    """``[project]`` of pyproject.toml with its dynamic fields filled in from the manifest."""
    root = Path(root)
    with open(root / "pyproject.toml", "rb") as fh:
        table = dict(tomllib.load(fh).get("project") or {})
    with open(root / "blender_manifest.toml", "rb") as fh:
        manifest = tomllib.load(fh)
    unknown = set(table) - SUPPORTED
    if unknown:
        raise ProjectError(f"pyproject.toml [project]: unsupported field(s) {sorted(unknown)}")
    for field in table.get("dynamic", []):
        if field not in FROM_MANIFEST:
            raise ProjectError(f"pyproject.toml [project]: '{field}' cannot be dynamic here "
                               f"(only {sorted(FROM_MANIFEST)}, taken from blender_manifest.toml)")
        if field in table:
            raise ProjectError(f"pyproject.toml [project]: '{field}' is both set and dynamic")
        value = manifest.get(FROM_MANIFEST[field])
        if not isinstance(value, str) or not value:
            raise ProjectError(f"blender_manifest.toml has no '{FROM_MANIFEST[field]}'")
        table[field] = value
    for field in ("name", "version"):
        if not isinstance(table.get(field), str):
            raise ProjectError(f"pyproject.toml [project]: '{field}' is missing")
    if not re.fullmatch(r"[0-9]+(\.[0-9]+)*([-+.][0-9A-Za-z.]+)?", table["version"]):
        raise ProjectError(f"version {table['version']!r} is not a valid version")
    return table


def dist_name(name):
    """The name as it appears in file names (PEP 427 / binary distribution format)."""
    return re.sub(r"[-_.]+", "_", name).lower()


def _people(entries):
    names, emails = [], []
    for person in entries or ():
        if "email" in person:
            emails.append(f"{person['name']} <{person['email']}>" if "name" in person
                          else person["email"])
        elif "name" in person:
            names.append(person["name"])
    return names, emails


def metadata_text(table, root=ROOT):
    """Core metadata (METADATA / PKG-INFO), version 2.4 (licence as an SPDX expression)."""
    lines = ["Metadata-Version: 2.4", f"Name: {table['name']}", f"Version: {table['version']}"]
    if table.get("description"):
        lines.append(f"Summary: {table['description']}")
    for field, (key_name, key_email) in (("authors", ("Author", "Author-email")),
                                         ("maintainers", ("Maintainer", "Maintainer-email"))):
        names, emails = _people(table.get(field))
        if names:
            lines.append(f"{key_name}: {', '.join(names)}")
        if emails:
            lines.append(f"{key_email}: {', '.join(emails)}")
    license_ = table.get("license")
    if isinstance(license_, str):
        lines.append(f"License-Expression: {license_}")
    elif isinstance(license_, dict) and "text" in license_:
        lines.append(f"License: {license_['text']}")
    for path in license_files(table, root):
        lines.append(f"License-File: {path}")
    if table.get("keywords"):
        lines.append(f"Keywords: {','.join(table['keywords'])}")
    lines += [f"Classifier: {c}" for c in table.get("classifiers", [])]
    lines += [f"Project-URL: {k}, {v}" for k, v in table.get("urls", {}).items()]
    if table.get("requires-python"):
        lines.append(f"Requires-Python: {table['requires-python']}")
    lines += [f"Requires-Dist: {req}" for req in table.get("dependencies", [])]
    for extra, reqs in table.get("optional-dependencies", {}).items():
        lines.append(f"Provides-Extra: {extra}")
        lines += [f"Requires-Dist: {_with_extra(req, extra)}" for req in reqs]
    body = ""
    readme = table.get("readme")
    if readme:
        path = readme if isinstance(readme, str) else readme.get("file")
        kind = ("text/markdown" if str(path).endswith(".md") else "text/plain") \
            if isinstance(readme, str) else readme.get("content-type", "text/plain")
        lines.append(f"Description-Content-Type: {kind}")
        body = (Path(root) / path).read_text(encoding="utf-8")
    text = "\n".join(lines) + "\n"
    return text + ("\n" + body if body else "")


def _with_extra(requirement, extra):
    """``requirement`` wanted only with ``extra`` (its own environment marker kept)."""
    spec, _, marker = requirement.partition(";")
    condition = f'extra == "{extra}"'
    if marker.strip():
        condition = f"({marker.strip()}) and {condition}"
    return f"{spec.strip()}; {condition}"


def license_files(table, root=ROOT):
    """Licence files (relative paths, sorted) matched by ``license-files`` globs."""
    found = set()
    for pattern in table.get("license-files", []):
        matches = [p for p in Path(root).glob(pattern) if p.is_file()]
        if not matches:
            raise ProjectError(f"license-files: nothing matches {pattern!r}")
        found.update(p.relative_to(root).as_posix() for p in matches)
    return sorted(found)


def package_files(root=ROOT):
    """(archive path, file) of every module of the package, sorted."""
    base = Path(root) / PACKAGE
    files = [p for p in base.rglob("*.py") if "__pycache__" not in p.parts]
    return sorted((p.relative_to(root).as_posix(), p) for p in files)


# ------------------------------------------------------------------------------------------------
# Archives
# ------------------------------------------------------------------------------------------------

def _timestamp():
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", "315532800"))   # 1980-01-01 (zip's minimum)
    import time
    return time.gmtime(max(epoch, 315532800))[:6]


def _record_hash(data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest}"


class _Wheel:
    def __init__(self, path):
        self.zip = zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED)
        self.records = []
        self.when = _timestamp()

    def add(self, arcname, data):
        if isinstance(data, str):
            data = data.encode("utf-8")
        info = zipfile.ZipInfo(arcname, date_time=self.when)
        info.external_attr = 0o644 << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        self.zip.writestr(info, data)
        self.records.append(f"{arcname},{_record_hash(data)},{len(data)}")

    def close(self, record_name):
        self.records.append(f"{record_name},,")
        info = zipfile.ZipInfo(record_name, date_time=self.when)
        info.external_attr = 0o644 << 16
        self.zip.writestr(info, "\n".join(self.records) + "\n")
        self.zip.close()


def _dist_info_files(table, root):
    """{name inside .dist-info: bytes or str}."""
    files = {"METADATA": metadata_text(table, root),
             "WHEEL": (f"Wheel-Version: 1.0\nGenerator: {GENERATOR}\nRoot-Is-Purelib: true\n"
                       f"Tag: {WHEEL_TAG}\n")}
    for path in license_files(table, root):
        files[f"licenses/{path}"] = (Path(root) / path).read_bytes()
    return files


def write_wheel(output_dir, root=ROOT, editable=False):
    """Write the wheel into ``output_dir``; returns its file name."""
    root = Path(root).resolve()
    table = project(root)
    name = dist_name(table["name"])
    stem = f"{name}-{table['version']}"
    filename = f"{stem}-{WHEEL_TAG}.whl"
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    tmp = output_dir / (filename + ".part")
    wheel = _Wheel(tmp)
    try:
        if editable:
            wheel.add(f"_{name}_editable.pth", str(root) + "\n")
        else:
            for arcname, path in package_files(root):
                wheel.add(arcname, path.read_bytes())
        info = f"{stem}.dist-info"
        for inner, data in sorted(_dist_info_files(table, root).items()):
            wheel.add(f"{info}/{inner}", data)
        wheel.close(f"{info}/RECORD")
        os.replace(tmp, output_dir / filename)
    finally:
        if tmp.exists():
            tmp.unlink()
    return filename


def write_sdist(output_dir, root=ROOT):
    """Write ``<name>-<version>.tar.gz``: what building the wheel again needs."""
    root = Path(root).resolve()
    table = project(root)
    stem = f"{dist_name(table['name'])}-{table['version']}"
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    members = [("pyproject.toml", root / "pyproject.toml"),
               ("blender_manifest.toml", root / "blender_manifest.toml"),
               ("tools/build_wheel.py", root / "tools" / "build_wheel.py")]
    members += [(p, root / p) for p in license_files(table, root)]
    readme = table.get("readme")
    if readme:
        path = readme if isinstance(readme, str) else readme["file"]
        members.append((path, root / path))
    members += package_files(root)
    mtime = int(os.environ.get("SOURCE_DATE_EPOCH", "315532800"))
    filename = f"{stem}.tar.gz"

    def add(tar, arcname, data):
        info = tarfile.TarInfo(f"{stem}/{arcname}")
        info.size = len(data)
        info.mtime = mtime
        info.mode = 0o644
        tar.addfile(info, io.BytesIO(data))

    with tarfile.open(output_dir / filename, "w:gz", format=tarfile.PAX_FORMAT) as tar:
        add(tar, "PKG-INFO", metadata_text(table, root).encode("utf-8"))
        for arcname, path in sorted(set(members)):
            add(tar, arcname, Path(path).read_bytes())
    return filename


# ------------------------------------------------------------------------------------------------
# PEP 517 / PEP 660 hooks
# ------------------------------------------------------------------------------------------------

def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def get_requires_for_build_editable(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    table = project(ROOT)
    info = Path(metadata_directory) / f"{dist_name(table['name'])}-{table['version']}.dist-info"
    for inner, data in _dist_info_files(table, ROOT).items():
        path = info / inner
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, str):
            path.write_text(data, encoding="utf-8")
        else:
            path.write_bytes(data)
    return info.name


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    return write_wheel(wheel_directory, ROOT)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    return write_wheel(wheel_directory, ROOT, editable=True)


def build_sdist(sdist_directory, config_settings=None):
    return write_sdist(sdist_directory, ROOT)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-dir", default=str(ROOT / "dist"))
    parser.add_argument("--root", default=str(ROOT), help="project folder (default: this checkout)")
    parser.add_argument("--sdist", action="store_true", help="also write the sdist")
    args = parser.parse_args(argv)
    try:
        name = write_wheel(args.output_dir, args.root)
        print(f"build_wheel: {Path(args.output_dir) / name}")
        if args.sdist:
            print(f"build_wheel: {Path(args.output_dir) / write_sdist(args.output_dir, args.root)}")
    except (ProjectError, OSError) as ex:
        sys.exit(f"build_wheel: {ex}")


if __name__ == "__main__":
    main()
