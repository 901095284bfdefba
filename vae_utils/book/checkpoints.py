"""Trained models on disk: save, load, and load-or-train with the settings they were trained with.

A checkpoint holds the weights, a SHA-256 digest of them, the model's constructor arguments,
the training history and the training configuration (:func:`training_config`). It is read
with ``torch.load(weights_only=True)``, so it can hold nothing but tensors and plain data.
"""
from __future__ import annotations

import hashlib
import os
import re
import tempfile
import threading
import uuid
from pathlib import Path
from typing import NamedTuple

import torch

from .. import _checks
from ..data import fingerprint
from ..models import VAE
from ..training import pick_device, set_seed, train_vae, training_arguments

from . import published

FORMAT = "vae_utils.checkpoint.v2"


class Checkpoint(NamedTuple):
    model: VAE
    history: dict
    config: dict


def weights_digest(state_dict: dict) -> str:
    """SHA-256 of every tensor's name, dtype, shape and bytes, in name order."""
    h = hashlib.sha256()
    for name in sorted(state_dict):
        t = state_dict[name].detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.numpy().tobytes() if t.dtype != torch.bfloat16 else t.float().numpy().tobytes())
    return h.hexdigest()


def _plain(value, name: str):
    """Checkpoints hold only what ``torch.load(weights_only=True)`` can read back."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v, name) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: _plain(v, name) for k, v in value.items()}
    raise ValueError(f"{name} must hold only numbers, strings, lists and dicts with str keys, got {type(value).__name__}")


def save_checkpoint(path: str | os.PathLike, model: VAE, history: dict, config: dict) -> Path:
    """Write weights, their digest, the model's constructor arguments, the history and ``config``
    atomically: readers see the old file or the new one, never half of one.

    ``config["model"]``, where given (:func:`training_config` writes it), is meant to be the saved
    model's own configuration: :func:`load_checkpoint` refuses a file that names one architecture
    and holds another. Temporary files left in the folder by an earlier save that was killed are
    removed."""
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    payload = {"format": FORMAT, "model_config": model.config, "state_dict": state, "digest": weights_digest(state),
               "history": _plain(history, "history"), "config": _plain(config, "config")}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(path)
    # A name unique per call (process, thread and a random part), so concurrent writers never share it.
    tmp = path.with_name(f".{path.name[:60]}.{os.getpid()}.{threading.get_ident()}.{uuid.uuid4().hex}.tmp")
    try:
        torch.save(payload, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _remove_leftovers(path: Path) -> None:
    """Delete the temporary files of earlier saves of ``path`` whose process is gone (killed while saving).
    A live process's file is another writer's, still being written: it stays."""
    pattern = re.compile(rf"\.{re.escape(path.name[:60])}\.(\d+)\.\d+\.[0-9a-f]{{32}}\.tmp")
    for leftover in path.parent.glob(f".{path.name[:60]}.*.tmp"):
        match = pattern.fullmatch(leftover.name)
        if match and not _process_alive(int(match[1])):
            leftover.unlink(missing_ok=True)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # someone else's process, or a pid we cannot ask about: leave its file alone
    return True


def _not_writable(folder: Path) -> str | None:
    """Why ``folder`` cannot hold a new file (created if missing), or None when it can. Tried, not
    guessed from permission bits: root ignores those, a read-only mount does not."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-probe-"):
            pass
    except OSError as err:
        return err.strerror or type(err).__name__
    return None


def fallback_folder(folder: str | os.PathLike) -> Path:
    """Where the checkpoints of ``folder`` go when it cannot be written (a read-only notebook folder):
    ``$XDG_CACHE_HOME/vae_book/checkpoints/<its last names>-<hash of its full path>``."""
    folder = Path(folder).absolute()
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    tag = "-".join(folder.parts[-3:]).replace(os.sep, "") or "root"
    return cache / "vae_book" / "checkpoints" / f"{tag}-{hashlib.sha256(str(folder).encode()).hexdigest()[:8]}"


def _malformed(path: Path, what: str) -> ValueError:
    return ValueError(f"path: {path} is not a usable checkpoint ({what}); delete it and train again")


def _model_from(payload: dict, path: Path) -> VAE:
    """Check the payload's fields and shapes before allocating anything, then rebuild the model."""
    config, state = payload.get("model_config"), payload.get("state_dict")
    if not isinstance(config, dict) or set(config) != {"latent_dim", "arch", "hidden"}:
        raise _malformed(path, "its model_config is not {latent_dim, arch, hidden}")
    if not isinstance(state, dict) or not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()):
        raise _malformed(path, "its state_dict is not a dict of named tensors")
    for key in ("history", "config"):
        if not isinstance(payload.get(key), dict):
            raise _malformed(path, f"its {key} is not a dict")
    if not isinstance(payload.get("digest"), str):
        raise _malformed(path, "it has no digest of its weights")
    if "model" in payload["config"] and payload["config"]["model"] != config:
        raise _malformed(path, f"its training configuration names the model {payload['config']['model']}, "
                               f"its weights are of {config}")
    try:
        with torch.device("meta"):  # shapes only: no memory is allocated for the weights
            skeleton = VAE(**config)
    except (TypeError, ValueError) as err:
        raise _malformed(path, f"its model_config {config} is not a VAE's: {err}") from None
    shapes = {k: tuple(v.shape) for k, v in skeleton.state_dict().items()}
    if shapes != {k: tuple(v.shape) for k, v in state.items()}:
        raise ValueError(f"path: the weights in {path} do not fit VAE(**{config}); delete it and train again")
    if weights_digest(state) != payload["digest"]:
        raise ValueError(f"path: the weights in {path} do not match their digest (the file is corrupt or was "
                         "altered); delete it and train again")
    model = VAE(**config)
    model.load_state_dict(state)
    try:
        _checks.finite_model(model, "the model")
    except ValueError as err:
        raise ValueError(f"path: {path} holds weights that are not finite ({err}); delete it and train again") from None
    return model


def load_checkpoint(path: str | os.PathLike, device: str | torch.device = "cpu") -> Checkpoint:
    """Rebuild the model from a checkpoint (in eval mode) with its history and config.

    Refuses a file that is not a checkpoint of this format, weights that do not fit the stored
    configuration, weights whose digest differs (a corrupt or altered file) and weights that are
    not finite (a diverged run's), naming the file."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"path: {path} is a folder, not a checkpoint file")
    if not path.is_file():
        raise FileNotFoundError(f"path: no checkpoint at {path}")
    dev = pick_device(device)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise ValueError(f"path: {path} is not a readable checkpoint ({type(err).__name__}); "
                         "it may be corrupt or partial: delete it and train again") from err
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"path: {path} is not a {FORMAT} file; delete it and train again")
    model = _model_from(payload, path)
    return Checkpoint(model.to(dev).eval(), payload["history"], payload["config"])


def training_config(images: torch.Tensor, *, beta: float, epochs: int, seed: int, lr: float = 1e-3,
                    batch_size: int = 128, likelihood: str = "gaussian", model: VAE | None = None) -> dict:
    """What a checkpoint must match to stand in for a model trained now: the model's configuration
    (the default ``VAE()``'s if ``model`` is None), every training argument, and the training data
    (their number and a fingerprint of their pixels)."""
    args = training_arguments(images, epochs, batch_size, lr, seed, likelihood, progress=False, device="cpu")
    if model is None:
        with torch.device("meta"):  # the default model's configuration, without allocating its weights
            model = VAE()
    return {"model": model.config, "beta": float(beta), "epochs": args.epochs, "seed": args.seed,
            "lr": args.lr, "batch_size": args.batch_size, "likelihood": likelihood,
            "train_images": int(images.shape[0]), "data": fingerprint(images)}


def _differences(found: dict, wanted: dict) -> str:
    return "; ".join(f"{k}: {found.get(k)!r} in the file, {v!r} asked for" for k, v in wanted.items()
                     if found.get(k) != v)


def load_or_train_sweep(paths: dict, images: torch.Tensor, *, epochs: int, seed: int = 0, lr: float = 1e-3,
                        batch_size: int = 128, likelihood: str = "gaussian", progress: bool = True,
                        use_published: bool = True, latent_dim: int = 2) -> dict[float, Checkpoint]:
    r"""One ``VAE(latent_dim)`` per :math:`\beta` (the keys of ``paths``), from wherever it can be had.

    For each :math:`\beta`: the checkpoint at ``paths[beta]`` if it was trained with exactly these
    settings and data; else, with ``use_published``, the book's published weights of that name
    (:mod:`vae_utils.book.published`), checked against their SHA-256 sum and these settings, then saved
    at ``paths[beta]``; else it is trained here. The models left to train are trained one after
    another with :func:`~vae_utils.training.train_vae`, each from ``set_seed(seed)``, and saved when
    all are trained (an interrupted sweep saves nothing). A checkpoint that cannot be read
    (truncated, corrupt) is trained again.
    Where ``paths[beta]``'s folder cannot be written (a read-only mount), checkpoints go to
    :func:`fallback_folder`, or stay in memory if that cannot be written either. Lines say where
    every model came from.
    """
    if not isinstance(paths, dict) or not paths:
        raise ValueError("paths must be a non-empty dict of beta -> checkpoint path")
    _checks.flag(use_published, "use_published")  # progress is checked by the training, if there is one
    with torch.device("meta"):  # the model's configuration, without allocating its weights
        skeleton = VAE(latent_dim=latent_dim)
    base = training_config(images, beta=0.0, epochs=epochs, seed=seed, lr=lr, batch_size=batch_size,
                           likelihood=likelihood, model=skeleton)
    wanted, result, missing, loaded, homes = {}, {}, {}, {}, {}
    for beta, path in paths.items():
        path = Path(_checks.path(path, f"paths[{beta!r}]"))
        if path.is_dir():
            raise ValueError(f"paths[{beta!r}]: {path} is a folder, not a checkpoint file")
        wanted[beta] = {**base, "beta": _checks.finite_number(beta, "beta (a key of paths)", minimum=0.0)}
        found, reason = _matching(path, wanted[beta])
        if found is None:
            if path.parent not in homes:
                homes[path.parent] = _home(path.parent)
            home = homes[path.parent]
            target = None if home is None else home / path.name
            if target is not None and target != path:
                found, reason_there = _matching(target, wanted[beta])
                path, reason = (target, reason_there) if found is not None else (path, reason)
        if found is not None:
            result[beta] = found
            loaded.setdefault(path.parent, []).append(beta)
            continue
        if use_published and target is not None:
            found, why = _published(target, wanted[beta])
            if found is not None:
                result[beta] = found
                print(f"beta={beta:g}: published weights from {why}, saved at {target}")
                continue
            reason += f"; {why}"
        missing[beta] = (target, reason)
    for folder, betas in loaded.items():
        print(f"beta={', '.join(f'{b:g}' for b in betas)}: loaded from {folder} (trained earlier with these settings "
              "and data)")
    if missing:
        for beta, (_, reason) in missing.items():
            print(f"beta={beta:g}: training here ({reason})")
        for beta in missing:
            set_seed(seed)  # the same initial weights for every beta
            model = VAE(latent_dim=latent_dim)
            history = train_vae(model, images, epochs=epochs, beta=beta, batch_size=batch_size, lr=lr, seed=seed,
                                likelihood=likelihood, progress=progress)
            result[beta] = Checkpoint(model, history, wanted[beta])
        for beta, (target, _) in missing.items():  # saved once all are trained: an interrupted sweep saves nothing
            if target is not None:
                save_checkpoint(target, *result[beta])
    return {beta: result[beta] for beta in paths}


def _matching(path: Path, wanted: dict) -> tuple[Checkpoint | None, str]:
    """The checkpoint at ``path`` if it was trained as ``wanted``; else None and why not."""
    if not path.is_file():
        return None, f"no checkpoint at {path}"
    try:
        found = load_checkpoint(path)
    except ValueError as err:  # load_checkpoint's advice (delete it and train again) is followed here
        why = re.sub(r"^path: |[;:] (it may be corrupt or partial: )?delete it and train again$", "", str(err))
        return None, f"the checkpoint at {path} cannot be used, so it is trained again: {why}"
    if found.config != wanted:
        return None, f"the checkpoint at {path} was trained otherwise ({_differences(found.config, wanted)})"
    return found, ""


def _published(target: Path, wanted: dict) -> tuple[Checkpoint | None, str]:
    """The book's published weights trained as ``wanted``, downloaded to ``target`` and checked as
    any checkpoint file is, and against ``wanted``; else None (and no file) and why not."""
    fetched, why = published.fetch(target.name, wanted, target)
    if not fetched:
        return None, why
    try:
        found = load_checkpoint(target)  # checks the weights' digest and that they are finite
        if found.config != wanted:
            raise ValueError("its own configuration differs from its manifest's")
    except ValueError as err:
        target.unlink()
        return None, f"the published {target.name} was refused: {err}"
    return found, why


def _home(folder: Path) -> Path | None:
    """Where checkpoints meant for ``folder`` are written: itself, else :func:`fallback_folder`, else
    nowhere (None: the models stay in memory). Says so in one line when it is not ``folder``."""
    why = _not_writable(folder)
    if why is None:
        return folder
    fallback = fallback_folder(folder)
    if _not_writable(fallback) is None:
        print(f"{folder} cannot be written ({why}): checkpoints are saved in {fallback} instead")
        return fallback
    print(f"{folder} cannot be written ({why}), nor {fallback}: the models stay in memory only and are "
          "trained again in a new session")
    return None


def load_or_train(path: str | os.PathLike, images: torch.Tensor, *, beta: float, epochs: int, seed: int = 0,
                  lr: float = 1e-3, batch_size: int = 128, likelihood: str = "gaussian", progress: bool = True,
                  use_published: bool = True, latent_dim: int = 2) -> Checkpoint:
    """:func:`load_or_train_sweep` for one model: the checkpoint at ``path``, the published weights,
    or a ``VAE(latent_dim)`` trained here with these settings and saved at ``path``."""
    path = _checks.path(path, "path")  # beta is checked as the key of the sweep's paths
    return load_or_train_sweep({beta: path}, images, epochs=epochs, seed=seed, lr=lr, batch_size=batch_size,
                               likelihood=likelihood, progress=progress, use_published=use_published,
                               latent_dim=latent_dim)[beta]
