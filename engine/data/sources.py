"""Named datasets: where the official copies are downloaded from and where offline copies live.

Downloads try https first, stream to a temporary file while hashing it, are kept only when the
checksum matches (where one is known or given) and are unpacked with checks against path
traversal. Offline, a download fails at once with a message that says how to point `--data` at
a local copy instead. The pix2pix archives come without published checksums: `--sha256` checks
one, and the SHA-256 of every download is written beside the dataset (SOURCE.txt).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from engine.data.archives import UnsafeArchiveError, extract_archive
from engine.data.download import ChecksumMismatchError, DatasetUnavailableError, fetch_any, file_digest
from engine.data.images import IMAGE_EXTENSIONS
from engine.errors import UserError

__all__ = ["ChecksumMismatchError", "DatasetUnavailableError", "UnsafeArchiveError", "extract_archive"]

PIX2PIX_HOST = "efrosgans.eecs.berkeley.edu/pix2pix/datasets/{name}.tar.gz"
CYCLEGAN_HOST = "efrosgans.eecs.berkeley.edu/cyclegan/datasets/{name}.zip"
SPLITS = ("train", "val", "test")
UNALIGNED_SPLITS = ("trainA", "trainB", "testA", "testB")
FASHION_MNIST = "fashion-mnist"  # the named dataset engine.data.image_folders reads (it imports this module)

SYSTEM_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")  # Debian's dataset-fashion-mnist


@dataclass(frozen=True)
class DatasetSource:
    """One named dataset: its download URLs (https first), direction, layout and what it holds."""

    name: str
    urls: tuple[str, ...]
    direction: str  # "AtoB" or "BtoA": which half is the input in the usual task
    description: str
    sha256: str = ""  # of the archive, where one is published
    layout: str = "aligned"  # aligned A|B pairs (pix2pix) or "unaligned" trainA/trainB (CycleGAN)

    @property
    def task(self) -> str:
        return "cyclegan" if self.layout == "unaligned" else "pix2pix"


def _pix2pix(name: str, direction: str, description: str) -> DatasetSource:
    host = PIX2PIX_HOST.format(name=name)
    return DatasetSource(name, (f"https://{host}", f"http://{host}"), direction, description)


def _cyclegan(name: str, description: str) -> DatasetSource:
    host = CYCLEGAN_HOST.format(name=name)
    return DatasetSource(name, (f"https://{host}", f"http://{host}"), "AtoB", description, layout="unaligned")


DATASETS: dict[str, DatasetSource] = {
    s.name: s
    for s in (
        _pix2pix("edges2shoes", "AtoB", "50k UT Zappos50K shoe photos with HED edge maps: sketch -> shoe"),
        _pix2pix("edges2handbags", "AtoB", "137k iGAN handbag photos with HED edge maps: sketch -> bag"),
        _pix2pix("facades", "BtoA", "400 CMP building facades with architectural labels: labels -> photo"),
        _pix2pix("maps", "AtoB", "1096 Google Maps aerial photos and map tiles of New York: aerial -> map"),
        _pix2pix("cityscapes", "BtoA", "2975 Cityscapes street scenes with semantic labels: labels -> photo"),
        _pix2pix("night2day", "AtoB", "17k outdoor webcam frames (Transient Attributes): night -> day"),
        _cyclegan("horse2zebra", "ImageNet horses and zebras, unpaired (1067 / 1334 train)"),
        _cyclegan("apple2orange", "ImageNet apples and oranges, unpaired"),
        _cyclegan("summer2winter_yosemite", "Flickr photos of Yosemite in summer and winter, unpaired"),
        _cyclegan("monet2photo", "Monet paintings and landscape photos, unpaired"),
        _cyclegan("vangogh2photo", "Van Gogh paintings and landscape photos, unpaired"),
        _cyclegan("cezanne2photo", "Cezanne paintings and landscape photos, unpaired"),
        _cyclegan("ukiyoe2photo", "Ukiyo-e prints and landscape photos, unpaired"),
        _cyclegan("iphone2dslr_flower", "Flower photos from phones and from DSLRs (shallow depth of field)"),
    )
}


def get_source(name: str) -> DatasetSource:
    """The source of a named dataset; unknown names raise ValueError listing the known ones."""
    if name not in DATASETS:
        raise UserError(f"unknown dataset {name!r}; known datasets: {', '.join(DATASETS)}")
    return DATASETS[name]


def default_dataset_roots() -> list[Path]:
    """Folders searched for offline copies: $STUDIO_HOME/datasets (see engine.store.runs.default_home),
    then those in $STUDIO_DATASETS (separated by the OS's path separator)."""
    from engine.store.runs import default_home

    extra = [Path(p) for p in os.environ.get("STUDIO_DATASETS", "").split(os.pathsep) if p]
    return [default_home() / "datasets", *extra]


PROJECT = Path(__file__).resolve().parents[2]
DEVELOPMENT_DATA = PROJECT.parent / "shared" / "data"  # a developer's checkout only, never needed
KIND_DATASETS = {  # what a task of each kind usually trains on, most usual first
    "image-to-image": ("edges2shoes", "edges2handbags", "facades", "cufs", "maps"),
    "unpaired": ("edges2shoes", "horse2zebra", "monet2photo", "apple2orange"),
    "label-map": ("facades", "cityscapes"),
    "segmentation": ("facades", "cityscapes"),
    "latent": (FASHION_MNIST,),
}
CHOICES_FILE = "dataset_choices.json"  # beside the run store: the folders last chosen


def search_roots() -> list[Path]:
    """Where datasets are looked for, in order: default_dataset_roots() (where `data download`
    puts them, then $STUDIO_DATASETS), ./datasets and the project's datasets/ (as the README's
    commands name them), then the development data beside a checkout (../shared/data)."""
    roots = [*default_dataset_roots(), Path.cwd() / "datasets", PROJECT / "datasets", DEVELOPMENT_DATA]
    unique: dict[Path, Path] = {}
    for root in roots:
        unique.setdefault(root.expanduser().resolve(), root)
    return list(unique)


def local_datasets(roots: Iterable[str | Path] | None = None) -> dict[str, Path]:
    """Every dataset folder found under the roots (name -> the first copy found)."""
    found: dict[str, Path] = {}
    for root in search_roots() if roots is None else [Path(r) for r in roots]:
        try:
            folders = sorted(p for p in root.iterdir() if p.is_dir())
        except OSError:
            continue
        for folder in folders:
            if folder.name not in found and is_dataset_folder(folder):
                found[folder.name] = folder
    return found


def suggested_datasets(kind: str, roots: Iterable[str | Path] | None = None) -> dict[str, str]:
    """Datasets here that suit a task of `kind` (name -> folder, the usual ones first, then the
    others found); Fashion-MNIST by name when its Debian package is installed."""
    found = {name: str(path) for name, path in local_datasets(roots).items()}
    usual = KIND_DATASETS.get(kind, ())
    if FASHION_MNIST in usual and _system_fashion_mnist():
        found[FASHION_MNIST] = FASHION_MNIST
    return {
        **{n: found[n] for n in usual if n in found},
        **{n: f for n, f in found.items() if n not in usual},
    }


def _system_fashion_mnist() -> bool:
    return SYSTEM_FASHION_MNIST.is_dir()


def get_command(name: str) -> str:
    """How to get dataset `name`: a command that runs, or where to put a copy by hand."""
    if name in DATASETS:
        return f"python -m engine data download {name}   # into {default_dataset_roots()[0]}"
    if name == FASHION_MNIST:
        return "apt install dataset-fashion-mnist   # or: train with --data fashion-mnist (downloads it)"
    if name == "cufs":
        return (
            "# CUFS is not downloadable here: get the CUHK Face Sketch database from CUHK MMLab and "
            f"unpack it as {default_dataset_roots()[0] / 'cufs'}/CUHK_student_train/{{photos,sketches}}"
            " (and CUHK_student_test)"
        )
    return f"# put {name} (DIR/train, DIR/val) in {default_dataset_roots()[0] / name}"


def remembered_dataset(key: str, home: str | Path | None = None) -> str | None:
    """The folder last chosen for `key` (a task, or a dataset name), if it is still there."""
    folder = _read_choices(home).get(key)
    if not isinstance(folder, str) or not folder:
        return None
    return folder if folder == FASHION_MNIST or Path(folder).expanduser().is_dir() else None


def remember_dataset(key: str, folder: str, home: str | Path | None = None) -> None:
    """Keep the folder chosen for `key`, so the next visit proposes it again."""
    choices = _read_choices(home)
    if choices.get(key) == folder:
        return
    choices[key] = folder
    path = _choices_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(choices, indent=1))


def _choices_path(home: str | Path | None) -> Path:
    from engine.store.runs import default_home

    return Path(home or default_home()) / CHOICES_FILE


def _read_choices(home: str | Path | None) -> dict:
    try:
        found = json.loads(_choices_path(home).read_text())
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


MAX_PATH = 4096  # Linux's PATH_MAX: a longer path reaches no folder (and makes the OS raise)
MAX_NAME = 255  # NAME_MAX: the longest one folder or file name


def folder_problem(text: str) -> str | None:
    """Why a typed dataset folder cannot be used before anything looks at the disk (too long,
    a NUL, the root of the file system), or None. `/` and `../../../../` hold images somewhere
    below, but no dataset layout, and scanning them would stall whoever asks."""
    longest = max((len(part) for part in text.split(os.sep)), default=0)
    if len(text) > MAX_PATH or longest > MAX_NAME:
        too_long = (
            f"that path is {len(text):,} characters long"
            if len(text) > MAX_PATH
            else "a name in it is too long"
        )
        return f"{too_long}: a folder path is at most {MAX_PATH:,} characters, each name in it at most {MAX_NAME}"
    try:
        resolved = Path(text.strip()).expanduser().resolve()
    except (OSError, RuntimeError, ValueError) as err:  # a NUL in it, a symlink loop
        return f"cannot use {text.strip()!r} as a folder: {err}"
    if resolved == Path(resolved.anchor):
        shown = text.strip() if text.strip() == resolved.anchor else f"{text.strip()} (that is {resolved})"
        return (
            f"{shown} is the root of the file system, not a dataset: choose the folder that holds "
            "train/ and val/ (or trainA/ and trainB/)"
        )
    return None


def is_dataset_folder(folder: Path) -> bool:
    """True when `folder` has a split folder (train/val/test, or CycleGAN's trainA...) holding
    at least one image."""
    subs = [folder / split for split in SPLITS + UNALIGNED_SPLITS]
    subs += [sub / pair for sub in folder.glob("*_train") for pair in ("A", "photos")]  # CUFS-style
    for sub in subs:
        if sub.is_dir() and any(p.suffix.lower() in IMAGE_EXTENSIONS for p in sub.iterdir()):
            return True
    return False


def find_local_dataset(name: str, roots: Iterable[str | Path] | None = None) -> Path | None:
    """An existing copy of dataset `name` as ROOT/name in the standard layout, else None.

    Any folder name works here (a user's own dataset too); `roots` defaults to search_roots()."""
    for root in search_roots() if roots is None else roots:
        candidate = Path(root).expanduser() / name
        if candidate.is_dir() and is_dataset_folder(candidate):
            return candidate
    return None


def _offline_hint(name: str, dest: Path) -> str:
    return (
        f"If this machine cannot download it, get {name} another way and either pass --data DIR, where DIR "
        f"holds train/ and val/ (or test/) folders of A|B side-by-side images (the pix2pix aligned "
        f"layout), or unpack it to {dest / name}."
    )


def download_dataset(
    name: str, dest_root: str | Path, progress: bool = True, keep_archive: bool = False, sha256: str = ""
) -> Path:
    """Download and unpack a named dataset into dest_root (nothing is fetched when
    dest_root/name already holds it); returns the dataset folder (DIR/train, DIR/val, ...).
    `sha256` (else the source's own, where published) must match the archive."""
    source = get_source(name)
    dest_root = Path(dest_root).expanduser()
    existing = find_local_dataset(name, [dest_root])
    if existing is not None:
        return existing
    target = dest_root / name
    if target.is_dir() and any(target.iterdir()):
        raise DatasetUnavailableError(
            f"{target} exists but holds no train/val/test images; move it away to download {name} again"
        )
    dest_root.mkdir(parents=True, exist_ok=True)
    archive = dest_root / f"{name}.tar.gz"
    expected = sha256 or source.sha256
    if archive.is_file():  # kept from an earlier download (--keep-archive)
        found = file_digest(archive)
        if expected and found != expected.lower():
            archive.unlink()
            raise ChecksumMismatchError(f"{archive} has sha256 {found}, expected {expected}: removed")
    else:
        try:
            found = fetch_any(source.urls, archive, progress, ("sha256", expected))
        except DatasetUnavailableError as err:
            raise DatasetUnavailableError(
                f"downloading {name} failed ({err}). {_offline_hint(name, dest_root)}"
            ) from err
    try:
        folder = extract_archive(archive, dest_root, name)
    except DatasetUnavailableError:
        archive.unlink(missing_ok=True)  # a damaged download must not be reused next time
        raise
    if not keep_archive:
        archive.unlink(missing_ok=True)
    (folder / "SOURCE.txt").write_text(f"{name}: {', '.join(source.urls)}\nsha256 of the archive: {found}\n")
    if not is_dataset_folder(folder):
        raise DatasetUnavailableError(
            f"{archive.name} unpacked to {folder}, which has no train/val/test images"
        )
    return folder
