"""Reading and verifying a delivery's ``_manifest.json`` (shared/contracts/extracts.md).

Used by the generator's contract checker and by ingestion. Errors are ``ContractError`` with a
message naming the delivery, file and reason; they never quote data values.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from pipelines.lib.contract import (
    DELIVERY_ID_RE,
    ENCODINGS,
    FORMATS,
    SOURCE_SPECS,
    FileSpec,
)

MANIFEST_NAME = "_manifest.json"


class ContractError(Exception):
    """A delivery breaks the extract contract; the message is safe to show and log."""

    def __init__(self, where: str, reason: str, file: str | None = None, row: int | None = None):
        self.where, self.reason, self.file, self.row = where, reason, file, row
        loc = where + (f"/{file}" if file else "") + (f" row {row}" if row is not None else "")
        super().__init__(f"{loc}: {reason}")


@dataclass(frozen=True)
class ManifestFile:
    name: str
    format: str
    encoding: str | None
    rows: int
    sha256: str
    spec: FileSpec


@dataclass(frozen=True)
class Manifest:
    source: str
    system: str
    delivery_id: str
    extracted_at: str
    kind: str
    files: tuple[ManifestFile, ...]
    path: Path

    @property
    def where(self) -> str:
        return f"{self.source}/{self.delivery_id}"


def sha256_file(path: Path, chunk: int = 4 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def read_manifest(delivery_dir: Path) -> Manifest:
    """Parse and validate the manifest's own fields (not the data files' content)."""
    delivery_dir = Path(delivery_dir)
    source, delivery_id = delivery_dir.parent.name, delivery_dir.name
    where = f"{source}/{delivery_id}"
    mpath = delivery_dir / MANIFEST_NAME
    if not mpath.exists():
        raise ContractError(where, "no _manifest.json in the delivery folder")
    try:
        doc = json.loads(mpath.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ContractError(where, f"_manifest.json is not valid UTF-8 JSON ({exc.__class__.__name__})")
    if not isinstance(doc, dict):
        raise ContractError(where, "_manifest.json is not a JSON object")
    for key in ("source", "delivery_id", "extracted_at", "kind", "files"):
        if key not in doc:
            raise ContractError(where, f"_manifest.json lacks '{key}'")
    if source not in SOURCE_SPECS:
        raise ContractError(where, f"unknown source folder '{source}'")
    if doc["source"] != source:
        raise ContractError(where, f"manifest source '{doc['source']}' differs from folder '{source}'")
    if str(doc["delivery_id"]) != delivery_id:
        raise ContractError(where, "manifest delivery_id differs from the folder name")
    if not DELIVERY_ID_RE.match(delivery_id):
        raise ContractError(where, "delivery_id is not YYYYMMDD or YYYYMMDDTHHMMSS")
    spec = SOURCE_SPECS[source]
    if doc["kind"] not in spec.kinds:
        raise ContractError(where, f"kind '{doc['kind']}' not allowed for {source} ({', '.join(spec.kinds)})")
    if not isinstance(doc["files"], list) or not doc["files"]:
        raise ContractError(where, "manifest lists no files")
    files: list[ManifestFile] = []
    seen: set[str] = set()
    for entry in doc["files"]:
        if not isinstance(entry, dict) or "name" not in entry:
            raise ContractError(where, "a manifest file entry has no name")
        name = str(entry["name"])
        if name in seen:
            raise ContractError(where, "file listed twice in the manifest", file=name)
        seen.add(name)
        if "/" in name or "\\" in name or name.startswith("."):
            raise ContractError(where, "file name must be a plain name in the delivery folder", file=name)
        fspec = spec.file_for(name)
        if fspec is None:
            raise ContractError(where, f"file is not part of the {source} contract", file=name)
        fmt = entry.get("format")
        if fmt not in FORMATS or fmt != fspec.format:
            raise ContractError(where, f"declared format '{fmt}', the contract says '{fspec.format}'", file=name)
        enc = entry.get("encoding")
        if fmt != "xlsx":
            if enc not in ENCODINGS:
                raise ContractError(where, f"declared encoding '{enc}' is not one of {', '.join(ENCODINGS)}", file=name)
        rows = entry.get("rows")
        if not isinstance(rows, int) or isinstance(rows, bool) or rows < 0:
            raise ContractError(where, "manifest 'rows' is not a non-negative integer", file=name)
        digest = entry.get("sha256")
        if not isinstance(digest, str) or len(digest) != 64:
            raise ContractError(where, "manifest 'sha256' is not a 64-character hex digest", file=name)
        if not (delivery_dir / name).is_file():
            raise ContractError(where, "file named in the manifest is missing", file=name)
        files.append(ManifestFile(name, fmt, enc, rows, digest.lower(), fspec))
    if doc["kind"] == "full":
        for fspec in spec.files:
            if fspec.required and not any(f.spec is fspec for f in files):
                raise ContractError(where, f"a full delivery must include the {fspec.table} file")
    return Manifest(
        source=source,
        system=str(doc.get("system", "")),
        delivery_id=delivery_id,
        extracted_at=str(doc["extracted_at"]),
        kind=doc["kind"],
        files=tuple(files),
        path=delivery_dir,
    )


def verify_checksums(manifest: Manifest) -> None:
    """Raise ContractError for the first file whose sha256 differs from the manifest."""
    for f in manifest.files:
        if sha256_file(manifest.path / f.name) != f.sha256:
            raise ContractError(manifest.where, "sha256 differs from the manifest", file=f.name)


def fingerprint(manifest: Manifest) -> str:
    """Identity of a delivery's content: a resend with the same fingerprint is a no-op."""
    h = hashlib.sha256()
    h.update(f"{manifest.source}|{manifest.delivery_id}|{manifest.kind}|{manifest.extracted_at}".encode())
    for f in sorted(manifest.files, key=lambda f: f.name):
        h.update(f"|{f.name}:{f.sha256}:{f.rows}".encode())
    return h.hexdigest()


def list_deliveries(landing: Path) -> list[tuple[str, str]]:
    """(source, delivery_id) pairs in the landing root, in processing order."""
    out = []
    for source in SOURCE_SPECS:
        sdir = Path(landing) / source
        if not sdir.is_dir():
            continue
        for d in sdir.iterdir():
            if d.is_dir() and DELIVERY_ID_RE.match(d.name):
                out.append((source, d.name))
    return sorted(out, key=lambda p: (list(SOURCE_SPECS).index(p[0]), p[1]))
