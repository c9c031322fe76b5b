"""Training checkpoints: the one writer and reader of the ``checkpoints/`` folder of a run.

Layout::

    checkpoints/
      latest              the name of the newest published checkpoint ("step-000020\\n")
      best/               (with validation) the checkpoint of the best validation accuracy so far, same layout;
                          its state.json adds ``selected``: step, split, accuracy and n
      step-000020/
        state.json        step, sampler state, config, base model; ``format``; ``files``: the size and sha256 of
                          every other file; ``parameters``: the trainable parameters' names and shapes
        trainable.pt      the trainable weights (the LoRA adapter, or the whole model): {name: tensor}
        optimizer.pt      the optimizer's state_dict
        scheduler.pt      the learning-rate scheduler's state_dict
        rng.pt            torch (CPU, and CUDA when used) and Python RNG states, as tensors and plain values
        model/            loadable with ``from_pretrained``: the LoRA adapter or the full model, and the tokenizer

Every ``.pt`` file loads with ``torch.load(..., weights_only=True)``: nothing in a checkpoint is an arbitrary
pickle.

**Writing** (:func:`write_checkpoint`): the files go into a hidden staging folder next to the checkpoint's place
(``.step-000020.tmp-…``), each flushed and fsynced, ``state.json`` last; one rename moves the folder into place,
then ``latest`` is replaced atomically (a temporary file, fsync, ``os.replace``). A crash at any point leaves the
previous checkpoint published and never a half-written folder under a ``step-*`` name; the next write removes the
debris. A published folder is never written into: a folder of the same name left by an earlier run is moved
aside and replaced by a rename.

**Reading**: only regular files inside the checkpoint folder are read — a symlink, a FIFO or a device anywhere in it
(or in ``latest``'s place) is refused unread, ``latest`` and ``state.json`` are read only up to a size a real one
never reaches, recorded names must be canonical (no aliases of one file) and at most :data:`MAX_FILES`, and no
error or warning quotes a file's contents. :func:`verify` checks ``state.json`` and every recorded file's size and
checksum, naming the file that fails; :func:`latest_checkpoint` takes the checkpoint ``latest`` names when it
verifies and otherwise falls back
(logged WARNING) to the newest ``step-*`` folder that does; :func:`load_training_state`, :func:`check_parameters`
and :func:`check_optimizer` let the learner refuse weights that do not fit its model; :func:`resolve` and
:func:`load_checkpoint_model` serve the readers (evaluation, live playback, the accuracy benchmark). Folders
written before this format (no ``format`` in ``state.json``) are resumed with a WARNING that they cannot be verified;
the readers refuse them, and a folder without ``state.json``, unless ``allow_unverified`` (``--allow-unverified``).
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import random
import re
import shutil
import stat
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

import torch

logger = logging.getLogger(__name__)

FORMAT_VERSION = 2
"""Written as ``state.json``'s ``format``; folders without one predate checksums (format 1)."""
CHECKPOINTS_DIR = "checkpoints"
LATEST = "latest"
BEST = "best"
"""The checkpoint with the best validation accuracy so far (``state.json`` records its step and score)."""
STATE = "state.json"
MODEL_DIR = "model"
TRAINABLE, OPTIMIZER, SCHEDULER, RNG = "trainable.pt", "optimizer.pt", "scheduler.pt", "rng.pt"
TRAINING_FILES = (TRAINABLE, OPTIMIZER, SCHEDULER, RNG)
"""The files resuming needs besides ``state.json``."""
PARAMETER_SETTINGS = ("model", "use_lora", "lora_r", "lora_target_modules", "lora_last_layers")
"""Config fields that decide which parameters are trained, and so what trainable.pt and optimizer.pt hold."""

MAX_FILES = 1_000
"""Most files a ``state.json`` may record (a model folder holds a few dozen; more is damage or a hostile record)."""
MAX_STATE_BYTES = 64 * 1024 * 1024
"""Largest ``state.json`` read (a real one is a few hundred KiB even for a fully fine-tuned model)."""
MAX_LATEST_BYTES = 256
"""Largest ``latest`` read (it holds one folder name)."""
UNVERIFIED_HINT = "pass --allow-unverified (allow_unverified=True) to read it anyway"
_NOT_REGULAR = "not a regular file: checkpoints are read only from regular files in their folder"

_STEP_NAME = re.compile(r"step-(\d+)")
_DEBRIS = re.compile(r"\.((step-\d+|best)\.(tmp|replaced)|latest\.tmp)-[0-9]+-[0-9a-f]+")
_SHOWN_NAMES = 4


class CheckpointError(ValueError):
    """A checkpoint that cannot be used; the message starts with the file (or folder) at fault."""

    def __init__(self, path: Path | str, problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{path}: {problem}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.path, self.problem))


def step_name(step: int) -> str:
    """The folder name of the checkpoint of ``step``.

    Example:
        >>> step_name(20)
        'step-000020'
    """
    return f"step-{step:06d}"


# --- writing --------------------------------------------------------------------------------------------------
# Every change a write makes on disk goes through _write_file, _write_folder or _rename (the crash-injection test
# interrupts each in turn).


def _write_file(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Create ``path`` (never overwriting) with ``write(file)``, then flush and fsync it."""
    with open(path, "xb") as file:
        write(file)
        file.flush()
        os.fsync(file.fileno())


def _write_folder(path: Path, write: Callable[[Path], object]) -> None:
    """Create the folder ``path``, let ``write`` fill it (``save_pretrained``), then fsync what it wrote."""
    path.mkdir()
    write(path)
    for item in sorted(path.rglob("*")):
        if item.is_file():
            _fsync_file(item)
    for folder in sorted((p for p in path.rglob("*") if p.is_dir()), reverse=True):
        _fsync_dir(folder)
    _fsync_dir(path)


def _rename(source: Path, target: Path) -> None:
    """Move ``source`` to ``target`` atomically (replacing a file there) and make the move durable."""
    os.replace(source, target)
    _fsync_dir(target.parent)


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as file:
        os.fsync(file.fileno())


def _fsync_dir(path: Path) -> None:
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except OSError:  # a platform whose folders cannot be opened (Windows): renames are durable enough there
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def _sha256(path: Path) -> str:
    with _open_regular(path) as file:
        digest = hashlib.sha256()
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
        return digest.hexdigest()


def _manifest(folder: Path) -> dict[str, dict[str, Any]]:
    """``{relative path: {"size", "sha256"}}`` of every file under ``folder`` but ``state.json``."""
    files: dict[str, dict[str, Any]] = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path != folder / STATE:
            files[path.relative_to(folder).as_posix()] = {"size": path.stat().st_size, "sha256": _sha256(path)}
    return files


def _unique(prefix: str) -> str:
    return f"{prefix}-{os.getpid()}-{uuid.uuid4().hex[:12]}"


def remove_debris(checkpoints_dir: Path) -> None:
    """Delete what interrupted writes left in ``checkpoints_dir`` (hidden staging folders and temporary files).

    One process writes a run's checkpoints; call this only from that process."""
    for path in checkpoints_dir.iterdir() if checkpoints_dir.is_dir() else ():
        if _DEBRIS.fullmatch(path.name):
            logger.info("Removing %s, left by an interrupted checkpoint write", path)
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


def write_checkpoint(
    checkpoints_dir: Path,
    step: int,
    *,
    state: Mapping[str, Any],
    files: Mapping[str, object],
    write_model: Callable[[Path], object] | None = None,
    parameters: Mapping[str, Sequence[int]] | None = None,
    folder_name: str | None = None,
) -> Path:
    """Publish ``checkpoints_dir/step-NNNNNN`` and point ``latest`` at it (see the module docstring); with
    ``folder_name`` (e.g. :data:`BEST`), publish ``checkpoints_dir/FOLDER_NAME`` instead, replacing an earlier
    one, and leave ``latest`` alone.

    Args:
        checkpoints_dir: The run's ``checkpoints/`` folder (created if needed).
        step: The training step; it names the folder and is recorded in ``state.json``.
        state: JSON-ready fields for ``state.json`` (``format``, ``step``, ``files`` and ``parameters`` are added).
        files: ``{file name: object}`` written with ``torch.save`` (tensors and plain data only).
        write_model: Fills the ``model/`` folder (e.g. ``save_pretrained``); none when omitted.
        parameters: The trainable parameters' names and shapes, recorded for the readers.

    Returns:
        The published folder.
    """
    checkpoints_dir.mkdir(parents=True, exist_ok=True)
    remove_debris(checkpoints_dir)
    final = checkpoints_dir / (folder_name or step_name(step))
    staging = checkpoints_dir / _unique(f".{final.name}.tmp")
    staging.mkdir()
    replaced: Path | None = None
    try:
        for name, value in files.items():
            _write_file(staging / name, functools.partial(torch.save, value))
        if write_model is not None:
            _write_folder(staging / MODEL_DIR, write_model)
        record: dict[str, Any] = {**state, "format": FORMAT_VERSION, "step": step, "files": _manifest(staging)}
        if parameters is not None:
            record["parameters"] = {name: list(shape) for name, shape in parameters.items()}
        text = (json.dumps(record, indent=2) + "\n").encode()
        _write_file(staging / STATE, lambda file: file.write(text))
        _fsync_dir(staging)
        if final.exists():
            if folder_name is None:
                logger.warning("%s exists (left by an earlier run): replacing it with this run's step %d", final, step)
            replaced = checkpoints_dir / _unique(f".{final.name}.replaced")
            _rename(final, replaced)
        _rename(staging, final)
    except Exception:  # a failed write (disk full, …) cleans up; a killed process leaves debris for the next one
        shutil.rmtree(staging, ignore_errors=True)
        if replaced is not None and not final.exists():
            os.replace(replaced, final)
        raise
    if folder_name is None:
        publish_latest(checkpoints_dir, final.name)
    if replaced is not None:
        shutil.rmtree(replaced, ignore_errors=True)
    logger.info("Saved checkpoint %s", final)
    return final


def publish_latest(checkpoints_dir: Path, name: str) -> None:
    """Point ``checkpoints_dir/latest`` at ``name``: a temporary file, fsynced, then ``os.replace``."""
    temporary = checkpoints_dir / _unique(f".{LATEST}.tmp")
    data = (name + "\n").encode()
    _write_file(temporary, lambda file: file.write(data))
    _rename(temporary, checkpoints_dir / LATEST)


# --- reading and verifying --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckpointInfo:
    """A checkpoint folder and its parsed ``state.json`` (empty for an old folder without one)."""

    folder: Path
    state: Mapping[str, Any]
    verified: bool
    """Sizes and checksums were checked (False: a folder written before format 2)."""

    @property
    def config(self) -> Mapping[str, Any]:
        config = self.state.get("config")
        return config if isinstance(config, Mapping) else {}

    @property
    def step(self) -> int | None:
        step = self.state.get("step")
        return step if isinstance(step, int) and not isinstance(step, bool) else None

    @property
    def model_dir(self) -> Path:
        return self.folder / MODEL_DIR

    @property
    def is_adapter(self) -> bool:
        """``model/`` holds a LoRA adapter (else full weights)."""
        return (self.model_dir / "adapter_config.json").is_file()

    @property
    def few_shot(self) -> bool:
        """Whether training prompts showed the worked examples (False when not recorded, as training defaults)."""
        return bool(self.config.get("few_shot", False))

    @property
    def reward(self) -> str:
        return str(self.config.get("reward", "unknown"))

    def base_model(self, default: str) -> str:
        """The model training started from: the config's ``model`` (a short name stays portable), else the
        resolved ``base_model``, else the adapter's ``base_model_name_or_path``, else ``default``."""
        for value in (self.config.get("model"), self.state.get("base_model")):
            if isinstance(value, str) and value:
                return value
        adapter_config = self.model_dir / "adapter_config.json"
        if adapter_config.is_file():
            try:
                base = json.loads(adapter_config.read_text(encoding="utf-8")).get("base_model_name_or_path")
            except (OSError, ValueError, AttributeError):
                base = None
            if isinstance(base, str) and base:
                return base
        return default


def _kind(mode: int) -> str:
    """What a non-regular file is, for messages."""
    for test, name in (
        (stat.S_ISLNK, "a symlink"),
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "a special file"


def _regular_size(path: Path) -> int:
    """The size of ``path``, which must be a regular file itself (not a symlink to one, a FIFO or a device).

    Raises:
        FileNotFoundError: it does not exist.
        CheckpointError: it is something else than a regular file (named in the message).
    """
    mode = os.lstat(path)
    if not stat.S_ISREG(mode.st_mode):
        raise CheckpointError(path, f"{_kind(mode.st_mode)}, {_NOT_REGULAR}")
    return mode.st_size


def _open_regular(path: Path) -> BinaryIO:
    """``path`` opened for reading, refused unread unless it is a regular file (no symlink is followed, and a FIFO
    or a device is never opened in a way that blocks).

    Raises:
        FileNotFoundError: it does not exist.
        CheckpointError: it is not a regular file.
    """
    _regular_size(path)
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        descriptor = os.open(path, flags)
    except OSError as error:
        if isinstance(error, FileNotFoundError):
            raise
        raise CheckpointError(path, f"unreadable ({error.strerror})") from None
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):  # swapped since the check
        os.close(descriptor)
        raise CheckpointError(path, _NOT_REGULAR)
    return os.fdopen(descriptor, "rb")


def _read_small(path: Path, limit: int) -> bytes:
    """The bytes of the regular file ``path``, refused unread when it is larger than ``limit``.

    Raises:
        FileNotFoundError: it does not exist.
        CheckpointError: it is not a regular file, too large or unreadable (its contents are never quoted).
    """
    with _open_regular(path) as handle:
        size = os.fstat(handle.fileno()).st_size
        if size > limit:
            raise CheckpointError(path, f"{size:,} bytes, more than the {limit:,} such a file holds: not read")
        try:
            return handle.read(limit + 1)[:limit]
        except OSError as error:
            raise CheckpointError(path, f"unreadable ({error.strerror})") from None


def _inside(folder: Path, path: Path) -> None:
    """Refuse ``path`` when it resolves outside ``folder`` (through a symlinked folder on the way).

    Raises:
        CheckpointError: it does.
    """
    if not path.resolve().is_relative_to(folder.resolve()):
        raise CheckpointError(path, "lies outside the checkpoint folder (through a symlink): not read")


def _special_entries(folder: Path) -> None:
    """Refuse a folder holding anything but regular files and folders (a symlink, FIFO or device would be read
    by ``from_pretrained`` unchecked).

    Raises:
        CheckpointError: naming the first such entry, or a folder with too many entries.
    """
    seen = 0
    for root, folders, files in os.walk(folder, followlinks=False):
        for name in [*folders, *files]:
            seen += 1
            if seen > 4 * MAX_FILES:
                raise CheckpointError(folder, f"holds more than {4 * MAX_FILES:,} entries: not a checkpoint folder")
            mode = os.lstat(os.path.join(root, name)).st_mode
            if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                raise CheckpointError(Path(root) / name, f"{_kind(mode)}, {_NOT_REGULAR}")


def read_state(folder: Path) -> dict[str, Any]:
    """The parsed ``folder/state.json`` (a regular file of at most :data:`MAX_STATE_BYTES`).

    Raises:
        CheckpointError: it is missing, unreadable, too large or not a JSON object (the message names the file).
    """
    path = folder / STATE
    try:
        text = _read_small(path, MAX_STATE_BYTES).decode("utf-8")
    except FileNotFoundError:
        raise CheckpointError(path, "missing (not a checkpoint folder)") from None
    except UnicodeDecodeError as error:
        raise CheckpointError(path, f"unreadable ({error})") from None
    except OSError as error:
        raise CheckpointError(path, f"unreadable ({error.strerror})") from None
    try:
        state = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise CheckpointError(path, f"not valid JSON, the file is damaged ({error})") from None
    if not isinstance(state, dict):
        raise CheckpointError(path, f"holds a JSON {type(state).__name__}, not the object a checkpoint writes")
    return state


def _recorded_files(folder: Path, state: Mapping[str, Any]) -> dict[str, tuple[int, str]]:
    """``state.json``'s ``files`` as ``{relative path: (size, sha256)}``, validated."""
    files = state.get("files")
    where = folder / STATE
    if not isinstance(files, dict):
        raise CheckpointError(where, "has no 'files' record of the checkpoint's files")
    if len(files) > MAX_FILES:
        raise CheckpointError(where, f"records {len(files):,} files, more than the {MAX_FILES:,} a checkpoint holds")
    recorded: dict[str, tuple[int, str]] = {}
    for name, entry in files.items():
        relative = PurePosixPath(name)
        shown = repr(name[:80] + ("…" if len(name) > 80 else ""))
        if relative.is_absolute() or ".." in relative.parts or not relative.parts:
            raise CheckpointError(where, f"records a file outside the checkpoint: {shown}")
        if relative.as_posix() != name or "\\" in name:
            raise CheckpointError(where, f"records {shown}, a name not in canonical form (an alias of another file?)")
        size = entry.get("size") if isinstance(entry, dict) else None
        digest = entry.get("sha256") if isinstance(entry, dict) else None
        if not isinstance(size, int) or not isinstance(digest, str):
            raise CheckpointError(where, f"its record of {name!r} lacks a size or sha256")
        recorded[name] = (size, digest)
    return recorded


def verify(folder: Path, *, training: bool = True, allow_unverified: bool = False) -> CheckpointInfo:
    """Check a checkpoint folder before anything is loaded from it.

    ``training=True`` (resuming) checks every recorded file and that the files resuming needs are there;
    ``training=False`` (the readers) checks ``state.json`` and the ``model/`` files only. Either way the folder
    may hold only regular files and folders. A folder that cannot be verified — no ``state.json``, or one written
    before checksums — is refused to the readers unless ``allow_unverified`` (then read with a WARNING); resuming
    reads an old run's folder with a WARNING.

    Raises:
        CheckpointError: a file is missing, damaged (size or checksum differs from ``state.json``'s record), not a
            regular file inside the folder, or ``state.json`` is; the message names the file.
    """
    _special_entries(folder)
    no_state = not (folder / STATE).exists() and not (folder / STATE).is_symlink()
    if no_state and not training and (folder / MODEL_DIR).is_dir():
        if not allow_unverified:
            raise CheckpointError(
                folder / STATE, f"missing: the checkpoint cannot be verified (written by hand?); {UNVERIFIED_HINT}"
            )
        logger.warning("%s has no state.json (written by hand or by an old version): not verified", folder)
        return CheckpointInfo(folder, {}, verified=False)
    state = read_state(folder)
    version = state.get("format")
    if version is None:
        if not training and not allow_unverified:
            raise CheckpointError(
                folder / STATE,
                f"records no format: written before checkpoint format {FORMAT_VERSION} (no checksums), it cannot be "
                f"verified; {UNVERIFIED_HINT}",
            )
        for name in TRAINING_FILES if training else (MODEL_DIR,):
            if not (folder / name).exists():
                raise CheckpointError(folder / name, "missing")
        logger.warning("%s predates checkpoint format %d (no checksums): not verified", folder, FORMAT_VERSION)
        return CheckpointInfo(folder, state, verified=False)
    if not isinstance(version, int) or isinstance(version, bool) or version > FORMAT_VERSION:
        raise CheckpointError(
            folder / STATE, f"checkpoint format {version!r}: this version of rezero reads format {FORMAT_VERSION}"
        )
    recorded = _recorded_files(folder, state)
    needed = TRAINING_FILES if training else ()
    for name in needed:
        if name not in recorded:
            raise CheckpointError(folder / name, "not recorded in state.json: not a training checkpoint")
    prefix = MODEL_DIR + "/"
    if not training and not any(name.startswith(prefix) for name in recorded):
        raise CheckpointError(folder / MODEL_DIR, "not recorded in state.json: the checkpoint holds no model")
    for name, (size, digest) in recorded.items():
        if not training and not name.startswith(prefix):
            continue
        path = folder / name
        try:
            actual = _regular_size(path)
        except FileNotFoundError:
            raise CheckpointError(path, "missing (state.json records it)") from None
        except OSError as error:
            raise CheckpointError(path, f"unreadable ({error.strerror})") from None
        _inside(folder, path)
        if actual != size:
            raise CheckpointError(path, f"{actual:,} bytes where state.json records {size:,}: the file is damaged")
        if _sha256(path) != digest:
            raise CheckpointError(path, "its sha256 differs from state.json's record: the file is damaged")
    return CheckpointInfo(folder, state, verified=True)


def is_step_name(name: str) -> bool:
    """Whether ``name`` is a checkpoint folder's name.

    Example:
        >>> is_step_name("step-000020"), is_step_name(".step-000020.tmp-1-ab"), is_step_name("latest")
        (True, False, False)
    """
    return _STEP_NAME.fullmatch(name) is not None


def step_folders(checkpoints_dir: Path) -> list[Path]:
    """The ``step-*`` folders of ``checkpoints_dir``, newest step first."""
    if not checkpoints_dir.is_dir():
        return []
    found = []
    for path in checkpoints_dir.iterdir():
        match = _STEP_NAME.fullmatch(path.name)
        if match and path.is_dir():
            found.append((int(match.group(1)), path))
    return [path for _, path in sorted(found, reverse=True)]


def holds_checkpoints(folder: Path) -> bool:
    """Whether ``folder`` is a run (or ``checkpoints/``) folder with a ``latest`` pointer or a ``step-*`` folder."""
    return any(
        (candidate / LATEST).is_file() or bool(step_folders(candidate))
        for candidate in (folder, folder / CHECKPOINTS_DIR)
    )


def _named_by_latest(checkpoints_dir: Path, problems: list[str]) -> Path | None:
    """The folder ``latest`` names, or None (its problem appended to ``problems``) when there is none. ``latest``
    must be a small regular file; its contents are never quoted in a problem."""
    pointer = checkpoints_dir / LATEST
    try:
        data = _read_small(pointer, MAX_LATEST_BYTES)
    except FileNotFoundError:
        return None
    except CheckpointError as error:
        problems.append(str(error))
        return None
    except OSError as error:
        problems.append(f"{pointer}: unreadable ({error.strerror})")
        return None
    try:
        name = data.decode("utf-8").strip()
    except UnicodeDecodeError:
        problems.append(f"{pointer}: not UTF-8 text ({len(data)} bytes)")
        return None
    if not name:
        problems.append(f"{pointer}: empty")
        return None
    if not _STEP_NAME.fullmatch(name):
        problems.append(f"{pointer}: does not name a step-NNNNNN folder ({len(data)} bytes, not shown)")
        return None
    return checkpoints_dir / name


def latest_checkpoint(
    checkpoints_dir: Path, *, training: bool = True, allow_unverified: bool = False
) -> CheckpointInfo | None:
    """The checkpoint to continue from (or read): the one ``latest`` names when it verifies, else the newest
    ``step-*`` folder that verifies (logged WARNING, saying what was wrong). None when there are no checkpoints.
    A ``step-*`` entry that is a symlink (to another run's folder) is never read.

    Raises:
        CheckpointError: there are checkpoints (or a ``latest``) but none verifies; the message lists why.
    """
    problems: list[str] = []
    named = _named_by_latest(checkpoints_dir, problems)
    candidates = ([named] if named is not None else []) + [p for p in step_folders(checkpoints_dir) if p != named]
    for folder in candidates:
        if folder.is_symlink():
            problems.append(f"{folder}: a symlink (to another folder), not this run's checkpoint: not read")
            continue
        try:
            info = verify(folder, training=training, allow_unverified=allow_unverified)
        except CheckpointError as error:
            problems.append(str(error))
            continue
        if problems:
            logger.warning("Falling back to checkpoint %s: %s", folder, "; ".join(problems))
        return info
    if problems:
        raise CheckpointError(checkpoints_dir, "no checkpoint verifies: " + "; ".join(problems))
    return None


def resolve(path: Path, *, training: bool = False, allow_unverified: bool = False) -> CheckpointInfo | None:
    """The checkpoint ``path`` names, verified: a checkpoint folder itself (no fallback: it was named), or the
    latest checkpoint of a ``checkpoints/`` folder or of a run folder (see :func:`latest_checkpoint`). None when
    ``path`` holds no checkpoint.

    Example:
        >>> resolve(Path("/nonexistent")) is None
        True

    Raises:
        CheckpointError: the checkpoint is damaged, or cannot be verified and ``allow_unverified`` is off (the
            message names the file).
    """
    if (path / STATE).exists() or (path / STATE).is_symlink() or (path / MODEL_DIR).is_dir():
        return verify(path, training=training, allow_unverified=allow_unverified)
    for folder in (path, path / CHECKPOINTS_DIR):
        if (folder / LATEST).exists() or (folder / LATEST).is_symlink() or step_folders(folder):
            return latest_checkpoint(folder, training=training, allow_unverified=allow_unverified)
    return None


# --- loading for training ---------------------------------------------------------------------------------------


def load_torch(path: Path) -> Any:
    """``torch.load(path, weights_only=True)`` on the CPU, with errors that name the file.

    Raises:
        CheckpointError: the file is missing, damaged, or holds more than tensors and plain data (a pickle).
    """
    try:
        with _open_regular(path) as handle:
            return torch.load(handle, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(path, "missing") from None
    except CheckpointError:
        raise
    except Exception as error:  # torch raises RuntimeError, UnpicklingError, EOFError, … for damaged files
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise CheckpointError(
            path, f"not a readable torch file of tensors and plain data ({type(error).__name__}: {first_line[:200]})"
        ) from None


@dataclass(frozen=True)
class TrainingState:
    """The torch files of a checkpoint, loaded and shape-checked as containers (not yet against a model)."""

    info: CheckpointInfo
    trainable: dict[str, torch.Tensor]
    optimizer: dict[str, Any]
    scheduler: dict[str, Any]
    rng: dict[str, Any]


def load_training_state(info: CheckpointInfo) -> TrainingState:
    """Load the four torch files of a verified checkpoint (nothing is applied to a model here).

    Raises:
        CheckpointError: a file is unreadable or does not hold what the writer writes (named in the message).
    """
    folder = info.folder
    trainable = load_torch(folder / TRAINABLE)
    if not isinstance(trainable, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in trainable.items()
    ):
        raise CheckpointError(folder / TRAINABLE, "does not hold a {parameter name: tensor} mapping")
    optimizer = load_torch(folder / OPTIMIZER)
    if not isinstance(optimizer, dict) or not isinstance(optimizer.get("param_groups"), list):
        raise CheckpointError(folder / OPTIMIZER, "does not hold an optimizer state_dict (no param_groups)")
    if not isinstance(optimizer.get("state"), dict):
        raise CheckpointError(folder / OPTIMIZER, "does not hold an optimizer state_dict (no state)")
    scheduler = load_torch(folder / SCHEDULER)
    if not isinstance(scheduler, dict) or "last_epoch" not in scheduler:
        raise CheckpointError(folder / SCHEDULER, "does not hold a learning-rate scheduler state_dict")
    rng = load_torch(folder / RNG)
    if not isinstance(rng, dict) or "torch" not in rng or "python" not in rng:
        raise CheckpointError(folder / RNG, "does not hold the RNG states a checkpoint saves")
    return TrainingState(info, trainable, optimizer, scheduler, rng)


def training_fields(info: CheckpointInfo) -> tuple[int, bool, dict[str, Any]]:
    """``(step, sft_done, sampler state)`` from ``state.json``.

    Raises:
        CheckpointError: one is missing or of the wrong type (the message names ``state.json``).
    """
    state, where = info.state, info.folder / STATE
    step, sft_done, sampler = state.get("step"), state.get("sft_done"), state.get("sampler")
    if not isinstance(step, int) or isinstance(step, bool) or step < 0:
        raise CheckpointError(where, f"'step' must be a whole number >= 0, got {step!r}")
    if not isinstance(sft_done, bool):
        raise CheckpointError(where, f"'sft_done' must be true or false, got {sft_done!r}")
    if not isinstance(sampler, dict):
        raise CheckpointError(where, "has no 'sampler' state (the question sampler's bit generator)")
    return step, sft_done, sampler


def run_record(info: CheckpointInfo) -> tuple[list[dict[str, Any]], list[tuple[int, float]]]:
    """``(history, validation curve)`` of the run up to this checkpoint, from ``state.json``: one metrics record
    per step and ``(step, validation accuracy)`` pairs, so that a resumed run reports all of its steps. Checkpoints
    written before these were recorded give two empty lists.

    Raises:
        CheckpointError: a field is there but not of that shape (the message names ``state.json``).
    """
    state, where = info.state, info.folder / STATE
    history, curve = state.get("history", []), state.get("validation_curve", [])
    if not isinstance(history, list) or not all(isinstance(row, dict) for row in history):
        raise CheckpointError(where, "'history' must be a list of per-step records")
    pairs: list[tuple[int, float]] = []
    for pair in curve if isinstance(curve, list) else [curve]:
        if not (
            isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], int) and isinstance(pair[1], (int, float))
        ):
            raise CheckpointError(where, f"'validation_curve' must be a list of [step, accuracy] pairs, got {pair!r}")
        pairs.append((pair[0], float(pair[1])))
    return history, pairs


def _normalised(value: Any) -> Any:
    return list(value) if isinstance(value, list | tuple) else value


def settings_differences(saved: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    """The :data:`PARAMETER_SETTINGS` whose values differ between a checkpoint's config and this run's.

    Example:
        >>> settings_differences({"lora_r": 16, "seed": 1}, {"lora_r": 8, "seed": 2})
        ['lora_r 16 → 8']
    """
    return [
        f"{key} {saved[key]!r} → {current[key]!r}"
        for key in PARAMETER_SETTINGS
        if key in saved and key in current and _normalised(saved[key]) != _normalised(current[key])
    ]


def config_differences(
    saved: Mapping[str, Any], current: Mapping[str, Any], defaults: Mapping[str, Any]
) -> list[tuple[str, Any, Any]]:
    """``(setting, saved value, current value)`` for each setting of ``current`` whose value differs from a
    checkpoint's config; a setting the checkpoint predates counts as saved at its default (``defaults``).

    Example:
        >>> config_differences({"lr": 0.1, "seed": 1}, {"lr": 0.2, "seed": 1, "new": 3}, {"new": 3})
        [('lr', 0.1, 0.2)]
    """
    differences = []
    for key, value in current.items():
        old = saved.get(key, defaults.get(key, value))
        if _normalised(old) != _normalised(value):
            differences.append((key, old, value))
    return differences


def _settings_note(differences: Sequence[str]) -> str:
    if differences:
        return " — the checkpoint's settings differ from this run's: " + ", ".join(differences)
    return " — its settings differ from this run's (another model, LoRA rank, target modules or layers?)"


def _names(names: Sequence[str]) -> str:
    shown = ", ".join(names[:_SHOWN_NAMES])
    return shown + (f", … ({len(names) - _SHOWN_NAMES} more)" if len(names) > _SHOWN_NAMES else "")


def check_parameters(
    path: Path,
    loaded: Mapping[str, torch.Tensor],
    expected: Mapping[str, Sequence[int]],
    differences: Sequence[str] = (),
) -> None:
    """Check that ``loaded`` (a trainable.pt) holds exactly the ``expected`` parameter names and shapes.

    Raises:
        CheckpointError: names are missing or extra, or shapes differ; the message names the file, the first
            offending parameters and the settings that differ (``differences``).
    """
    missing = sorted(set(expected) - set(loaded))
    extra = sorted(set(loaded) - set(expected))
    mismatched = [
        f"{name} {tuple(loaded[name].shape)} ≠ {tuple(expected[name])}"
        for name in sorted(set(expected) & set(loaded))
        if tuple(loaded[name].shape) != tuple(expected[name])
    ]
    problems = []
    if missing:
        problems.append(f"missing {len(missing)} of the model's {len(expected)} trained parameters: {_names(missing)}")
    if extra:
        problems.append(f"{len(extra)} parameters the model does not train: {_names(extra)}")
    if mismatched:
        problems.append(f"{len(mismatched)} parameters of other shapes: {_names(mismatched)}")
    if problems:
        raise CheckpointError(path, "does not match the model: " + "; ".join(problems) + _settings_note(differences))


def check_optimizer(
    path: Path, saved: Mapping[str, Any], groups: Sequence[Sequence[torch.Tensor]], differences: Sequence[str] = ()
) -> None:
    """Check that an optimizer state_dict fits an optimizer whose parameter groups are ``groups`` (torch only
    checks group sizes, with a message naming no file, and never the shapes of the moments).

    Raises:
        CheckpointError: the groups or the state's tensor shapes differ (the message says the settings differ).
    """
    saved_groups = saved["param_groups"]
    sizes = [len(group.get("params", ())) if isinstance(group, dict) else -1 for group in saved_groups]
    wanted = [len(group) for group in groups]
    if sizes != wanted:
        raise CheckpointError(
            path,
            f"holds the state of parameter groups of sizes {sizes}; this run's optimizer has {wanted}"
            + _settings_note(differences),
        )
    state = saved["state"]
    for saved_group, parameters in zip(saved_groups, groups, strict=True):
        for index, parameter in zip(saved_group["params"], parameters, strict=True):
            entry = state.get(index, {})
            if not isinstance(entry, dict):
                raise CheckpointError(path, f"the state of parameter {index} is not a mapping")
            for key, value in entry.items():
                if isinstance(value, torch.Tensor) and value.dim() > 0 and value.shape != parameter.shape:
                    raise CheckpointError(
                        path,
                        f"its {key!r} of parameter {index} has shape {tuple(value.shape)}, the parameter "
                        f"{tuple(parameter.shape)}" + _settings_note(differences),
                    )


# --- RNG states -------------------------------------------------------------------------------------------------


def capture_rng() -> dict[str, Any]:
    """The torch (CPU, and CUDA once initialised) and Python RNG states, as tensors and plain values (so that
    ``rng.pt`` loads with ``weights_only=True``)."""
    version, internal, gauss = random.getstate()
    rng: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "python": {"version": version, "state": torch.tensor(internal, dtype=torch.int64), "gauss": gauss},
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():  # type: ignore[no-untyped-call]
        rng["cuda"] = list(torch.cuda.get_rng_state_all())
    return rng


@dataclass(frozen=True)
class RngStates:
    """Validated RNG states of a checkpoint, ready to :meth:`apply`."""

    torch_state: torch.Tensor
    python_state: tuple[Any, ...]
    cuda_states: tuple[torch.Tensor, ...]
    path: Path

    def apply(self, *, cuda: bool = True) -> None:
        """Set the process's generators. ``cuda=False`` leaves the CUDA generators alone (under DDP only rank 0's
        states are saved)."""
        torch.set_rng_state(self.torch_state)
        random.setstate(self.python_state)
        if cuda and self.cuda_states and torch.cuda.is_available():
            if len(self.cuda_states) == torch.cuda.device_count():
                torch.cuda.set_rng_state_all(self.cuda_states)
            else:
                logger.warning(
                    "%s: CUDA RNG states of %d devices, %d here: not restored",
                    self.path,
                    len(self.cuda_states),
                    torch.cuda.device_count(),
                )


def rng_states(rng: Mapping[str, Any], path: Path) -> RngStates:
    """Check the states :func:`capture_rng` returned (or an old checkpoint's ``random.getstate()`` tuple).

    Raises:
        CheckpointError: the states are malformed (the message names ``path``).
    """
    try:
        torch_state = rng["torch"]
        if not isinstance(torch_state, torch.Tensor) or torch_state.dtype != torch.uint8:
            raise TypeError("the torch state is not a uint8 tensor")
        python = rng["python"]
        if isinstance(python, Mapping):
            internal = python["state"]
            values = internal.tolist() if isinstance(internal, torch.Tensor) else list(internal)
            python_state: tuple[Any, ...] = (int(python["version"]), tuple(int(v) for v in values), python.get("gauss"))
        else:
            python_state = tuple(python)
        random.Random().setstate(python_state)  # validates without touching the process's generator
        cuda_states = tuple(rng.get("cuda") or ())
        if not all(isinstance(state, torch.Tensor) for state in cuda_states):
            raise TypeError("the CUDA states are not tensors")
    except (KeyError, TypeError, ValueError, RuntimeError) as error:
        raise CheckpointError(path, f"not the RNG states a checkpoint saves ({error})") from None
    return RngStates(torch_state, python_state, cuda_states, path)


# --- loading for inference --------------------------------------------------------------------------------------


def tokenizer_source(info: CheckpointInfo, base_model: str) -> str:
    """Where the checkpoint's tokenizer is: its ``model/`` folder (the learner saves it there), else the base."""
    return str(info.model_dir) if (info.model_dir / "tokenizer_config.json").is_file() else base_model


def load_checkpoint_model(
    info: CheckpointInfo, base_model: str, *, merge: bool = False, dtype: str = "auto", device: str = "cpu"
) -> Any:
    """The checkpoint's model: its LoRA adapter on ``base_model`` (merged into it when ``merge``), or its full
    weights."""
    from rezero_agents.models import load_model

    if info.is_adapter:
        from peft import PeftModel

        model = PeftModel.from_pretrained(load_model(base_model, dtype, device), str(info.model_dir))
        return model.merge_and_unload() if merge else model
    return load_model(str(info.model_dir), dtype, device)


def parameter_shapes(named: Iterable[tuple[str, torch.Tensor]]) -> dict[str, tuple[int, ...]]:
    """``{name: shape}`` of the parameters that require gradients."""
    return {name: tuple(p.shape) for name, p in named if p.requires_grad}
