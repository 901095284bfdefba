"""Run the benchmarks and write benchmarks/results.md and benchmarks/results.json.

    python -m benchmarks            # the full run (about 20 minutes on 2 cores)
    python -m benchmarks --smoke    # seconds: proves every benchmark runs; what CI may run

Measured: training throughput of one epoch (``train_vae`` against the PyTorch examples
recipe, interleaved A/B/A/B), the epoch's achieved FLOP/s (counted by
``torch.utils.flop_counter``) against the machine's fp32 matmul peak, the book's cold and warm
build times and the test suite's time, the live explorer's slider latency, and peak memory of
training and of the cold build. Also: value checks at every step against checks once, and the
host syncs per epoch; the same training benchmarks on CUDA where a GPU is present.

    python -m benchmarks --training-only   # the training benchmarks alone (minutes)
    python -m benchmarks --full-mnist DIR  # also the cold `make book` on full MNIST in DIR (every model
                                           # trained), then chapter 03 with those weights served on
                                           # 127.0.0.1 (a quarter of an hour more on 2 cores); without it, the
                                           # last full-MNIST record in results.json is kept
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from tqdm.auto import tqdm

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "torch": torch.__version__, "python": platform.python_version(),
            "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}


# --- training throughput and FLOP/s --------------------------------------------------


def training_images(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` real MNIST digits: the offline set, repeated to size (a full epoch is 60,000)."""
    from vae_utils.data import load_mnist

    x, y = load_mnist("train", source="offline")
    reps = -(-n // len(x))
    return x.repeat(reps, 1, 1, 1)[:n], y.repeat(reps)[:n]


def vae_flops_per_image(model, batch: int = 16) -> float:
    """FLOPs of one image's training step (forward and backward), counted by
    ``torch.utils.flop_counter.FlopCounterMode`` on a batch of random images."""
    from torch.utils.flop_counter import FlopCounterMode

    from vae_utils.losses import vae_loss

    x = torch.rand(batch, 1, 28, 28)
    with FlopCounterMode(display=False) as counter:
        x_hat, mu, logvar = model(x)
        vae_loss(x_hat, x, mu, logvar)[0].backward()
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops() / batch


def matmul_peak_gflops(n: int, repeats: int) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)  # warm-up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best / 1e9


def throughput(n_images: int, rounds: int) -> dict:
    from benchmarks.recipe import recipe_epoch, recipe_loader
    from vae_utils import set_seed
    from tests.mnist_files import write_torchvision_cache
    from vae_utils.models import VAE
    from vae_utils.training import train_vae

    x, y = training_images(n_images)
    with tempfile.TemporaryDirectory() as root:
        write_torchvision_cache(root, (x, y), (x[:100], y[:100]))
        loader = recipe_loader(root)
        times = {"train_vae": [], "recipe": []}
        for r in tqdm(range(rounds), desc="A/B rounds", unit="round"):
            for name in ("train_vae", "recipe") if r % 2 == 0 else ("recipe", "train_vae"):
                set_seed(r)
                model = VAE()
                start = time.perf_counter()
                if name == "train_vae":
                    train_vae(model, x, epochs=1, seed=r, device="cpu", progress=False)
                else:
                    recipe_epoch(model, loader, torch.optim.Adam(model.parameters(), lr=1e-3))
                times[name].append(time.perf_counter() - start)
    flops = vae_flops_per_image(VAE()) * n_images
    ours = statistics.median(times["train_vae"])
    return {
        "images": n_images,
        "seconds": times,
        "images_per_s": {k: n_images / statistics.median(v) for k, v in times.items()},
        "median_speedup": statistics.median(b / a for a, b in zip(times["train_vae"], times["recipe"])),
        "gflop_per_epoch": flops / 1e9,
        "achieved_gflops": flops / ours / 1e9,
    }


# --- value checks once per run, not per step -------------------------------------------


def checked_epoch(model, images, batch_size: int = 128, lr: float = 1e-3, seed: int = 0) -> None:
    """One epoch of a loop that checks its data at every step: ``model(x)`` checks the batch's values
    (finite, in [0, 1]) each time it is called outside ``train_vae``, three host syncs per step."""
    from vae_utils.losses import vae_loss

    order = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    for batch in torch.randperm(len(images), generator=order).split(batch_size):
        x = images[batch]
        x_hat, mu, logvar = model(x)
        loss, _, _ = vae_loss(x_hat, x, mu, logvar)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()


def host_syncs_per_epoch(n_images: int = 1024, batch_size: int = 64) -> dict:
    """Conversions of tensors to Python values in one epoch of ``train_vae`` (Adam's reads of its
    CPU step counters excluded: they never wait for a device)."""
    from vae_utils import set_seed
    from vae_utils.models import VAE
    from vae_utils.training import train_vae

    x, _ = training_images(n_images)
    counted = {"n": 0}
    originals = {name: getattr(torch.Tensor, name) for name in ("item", "__bool__", "__float__", "__int__", "tolist")}

    def wrap(original):
        def counted_call(*args, **kwargs):
            if f"torch{os.sep}optim{os.sep}" not in sys._getframe(1).f_code.co_filename:
                counted["n"] += 1
            return original(*args, **kwargs)
        return counted_call

    set_seed(0)
    model = VAE()
    try:
        for name, original in originals.items():
            setattr(torch.Tensor, name, wrap(original))
        train_vae(model, x, epochs=1, batch_size=batch_size, device="cpu", progress=False)
    finally:
        for name, original in originals.items():
            setattr(torch.Tensor, name, original)
    return {"images": n_images, "steps": -(-n_images // batch_size), "host_syncs": counted["n"]}


def checks_before_after(n_images: int, rounds: int, device: str = "cpu") -> dict:
    from vae_utils import set_seed
    from vae_utils.models import VAE
    from vae_utils.training import train_vae

    x, _ = training_images(n_images)
    x = x.to(device)
    times = {"before (checks every step)": [], "after (checks once)": []}
    for r in tqdm(range(rounds), desc="checks A/B", unit="round"):
        for name in list(times) if r % 2 == 0 else list(times)[::-1]:
            set_seed(r)
            model = VAE().to(device)
            _sync(device)
            start = time.perf_counter()
            if name.startswith("before"):
                checked_epoch(model, x, seed=r)
            else:
                train_vae(model, x, epochs=1, seed=r, device=device, progress=False)
            _sync(device)
            times[name].append(time.perf_counter() - start)
    return {"images": n_images, "device": device, "seconds": times,
            "images_per_s": {k: n_images / statistics.median(v) for k, v in times.items()}}


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


# --- what the reader waits for -----------------------------------------------------------


def full_mnist_book(mnist: Path, clone: Path) -> dict:
    """``make book`` as the Pages workflow runs it, cold: a fresh clone of this commit in ``clone``,
    full MNIST from ``mnist``, an empty execution cache and no published weights
    (``VAE_BOOK_WEIGHTS=none``: every model is trained). This checkout's virtual environment and
    offline assets are reused, so no install is timed. Each chapter's run time is the one the
    execution cache records; the cached notebooks keep the source's cell timings, not the build's."""
    from jupyter_cache import get_cache

    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    (clone / ".venv").symlink_to(ROOT / ".venv")
    shutil.copytree(ROOT / "_vendor", clone / "_vendor")
    env = {"PYTHONPATH": str(clone), "VAE_BOOK_DATA": str(mnist), "VAE_BOOK_WEIGHTS": "none", "VAE_BOOK_QUICK": "0"}
    # -o: take the environment and the assets as they are (newer clone files would reinstall them)
    build = timed(["make", "-o", ".venv/.installed", "-o", "_vendor/.installed", "book"], env=env, cwd=clone)
    records = get_cache(clone / "_build" / ".jupyter_cache").list_cache_records()
    if not records:
        raise RuntimeError(f"make book in {clone} left an empty execution cache")
    return {**build, "chapters": {Path(r.uri).stem: {"seconds": r.data["execution_seconds"]} for r in records}}


PUBLISHED_CHAPTERS = ("03_with_and_without_kl", "05_more_latent_dimensions")  # the chapters that train models


def chapters_published(mnist: Path, trained: Path, tmp: Path) -> dict:
    """Each of :data:`PUBLISHED_CHAPTERS`' Run-all in a fresh copy of the notebooks, with the
    checkpoints in ``trained`` published as a release folder served on 127.0.0.1, as a reader who
    installed the book's release gets them (package install and MNIST download excluded)."""
    release, tree = tmp / "release", tmp / "published-weights"
    release.mkdir()
    server = _serve_release(trained, release)
    runs = {}
    try:
        shutil.copytree(ROOT / "notebooks", tree, ignore=shutil.ignore_patterns("checkpoints"))
        env = {"PYTHONPATH": str(ROOT), "VAE_BOOK_QUICK": "0", "VAE_BOOK_DATA": str(mnist),
               "VAE_BOOK_WEIGHTS": f"http://127.0.0.1:{server.server_address[1]}/"}
        jupyter = Path(sys.executable).with_name("jupyter")
        for stem in PUBLISHED_CHAPTERS:
            out = tree / f"{stem}.executed.ipynb"
            run = timed([str(jupyter), "execute", str(tree / f"{stem}.ipynb"), "--output", str(out)], env=env, cwd=tree)
            printed = "".join(text for cell in json.loads(out.read_text())["cells"] for output in cell.get("outputs", [])
                              if output.get("output_type") == "stream" for text in output["text"])
            if "training here (" in printed or "published weights from" not in printed:
                raise RuntimeError(f"{stem} trained instead of loading the served weights:\n" + printed[-3000:])
            runs[stem] = run
    finally:
        server.shutdown()
    size = sum(f.stat().st_size for f in release.glob("*.pt"))
    return {"chapters": runs, "release_mb": size / 1e6, "checkpoints": len(list(release.glob("*.pt")))}


def full_mnist_runs(mnist: Path) -> dict:
    """The book on full MNIST: the cold ``make book`` (:func:`full_mnist_book`), whose training
    chapters are their from-scratch Run-alls; then those chapters with the weights that build trained."""
    with tempfile.TemporaryDirectory() as tmp:
        clone = Path(tmp) / "clone"
        book = full_mnist_book(mnist, clone)
        trained = clone / "notebooks" / "checkpoints" / "full" / "60000-images"
        published = chapters_published(mnist, trained, Path(tmp))
    return {"date": time.strftime("%Y-%m-%d"), "book": book, "published": published}


def published_runs(mnist: Path) -> dict:
    """Only the training chapters with published weights: the weights this checkout trained
    (``notebooks/checkpoints/full/60000-images``), for a measurement without the cold build."""
    trained = ROOT / "notebooks" / "checkpoints" / "full" / "60000-images"
    with tempfile.TemporaryDirectory() as tmp:
        return {"date": time.strftime("%Y-%m-%d"), **chapters_published(mnist, trained, Path(tmp))}


def _serve_release(trained: Path, release: Path):
    """The checkpoints in ``trained`` and their manifest in ``release``, served on 127.0.0.1."""
    import functools
    import http.server
    import threading

    for checkpoint in trained.glob("*.pt"):
        shutil.copy(checkpoint, release)
    subprocess.run([sys.executable, str(ROOT / ".ci" / "release_manifest.py"), str(release)], check=True,
                   capture_output=True)  # the manifest a release writes
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(release)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def cuda_benchmarks(smoke: bool) -> dict:
    if not torch.cuda.is_available():
        return {"measured": False, "why": "not measured: no GPU"}
    n = 2_048 if smoke else 60_000
    return {"measured": True, "device_name": torch.cuda.get_device_name(0),
            "checks": checks_before_after(n, 2 if smoke else 4, device="cuda")}


# --- the book and the tests -----------------------------------------------------------------


_PEAK_OF_CHILDREN = ("import resource, subprocess, sys; done = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
                     "sys.stderr.write(done.stdout[-3000:] + done.stderr[-3000:]) if done.returncode else None; "
                     "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(done.returncode)")


def timed(cmd: list[str], env: dict | None = None, cwd: Path = ROOT) -> dict:
    """Wall time and peak RSS of a command: the largest single process among its descendants,
    read in a fresh wrapper process so that nothing measured earlier counts."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _PEAK_OF_CHILDREN, *cmd], cwd=cwd,
                          env={**os.environ, **(env or {})}, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stderr[-6000:]}")
    return {"command": " ".join(cmd), "seconds": seconds, "peak_rss_mb": int(done.stdout.split()[-1]) / 1024}


def training_memory(n_images: int) -> dict:
    code = ("import resource, benchmarks.__main__ as b; from vae_utils.models import VAE; "
            "from vae_utils.training import train_vae; x, _ = b.training_images(%d); "
            "train_vae(VAE(), x, epochs=1, progress=False); "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)" % n_images)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return {"images": n_images, "peak_rss_mb": int(out.stdout.strip().splitlines()[-1]) / 1024}


def book_and_tests(out_dir: Path) -> dict:
    """Cold and warm ``make book`` into ``out_dir``, then ``make test`` as CI runs it: with the quick
    book's execution cache (``_build/quick``) and quick checkpoints removed first."""
    make = ["make", f"BOOK_OUT={out_dir}"]
    cold = timed([*make, "book"])
    warm = timed([*make, "book"])
    shutil.rmtree(ROOT / "_build" / "quick", ignore_errors=True)
    shutil.rmtree(ROOT / "notebooks" / "checkpoints" / "quick", ignore_errors=True)
    tests = timed(["make", "test"])
    return {"cold_build": cold, "warm_build": warm, "make_test": tests}


# --- the live explorer ----------------------------------------------------------------------


def slider_latency(updates: int) -> dict:
    from vae_utils import set_seed
    from vae_utils.data import load_mnist
    from vae_utils.book.explore import latent_explorer
    from vae_utils.models import VAE

    xt, yt = load_mnist("test", source="offline")
    set_seed(0)
    ui = latent_explorer({"model": VAE().eval()}, xt, yt, ranges={"model": ((-3, 3), (-3, 3))})
    times = []
    for k in range(updates):
        value = -3 + 6 * ((k * 7919) % updates) / updates  # jumps across the range, not a sweep
        start = time.perf_counter()
        ui.z1.value = value  # decode + PNG encoding of digit and marker + widget update
        times.append(time.perf_counter() - start)
    times.sort()
    pick = lambda q: times[min(len(times) - 1, int(q * len(times)))] * 1e3  # noqa: E731
    return {"updates": updates, "p50_ms": pick(0.50), "p95_ms": pick(0.95), "max_ms": times[-1] * 1e3}


# --- report ------------------------------------------------------------------------------


def report(results: dict, command: str) -> str:
    m, t, s = results["machine"], results["training"], results["slider"]
    lines = [
        "# Benchmark results",
        "",
        f"Produced by `{command}` on {results['date']}.",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores ({m['torch_threads']} torch threads), "
        f"torch {m['torch']}, Python {m['python']}, GPU: {m['cuda'] or 'none'}.",
        "",
        "| benchmark | result |",
        "| --- | --- |",
        f"| training, `train_vae` (one epoch, {t['images']:,} images, batch 128) | "
        f"{t['images_per_s']['train_vae']:,.0f} images/s |",
        f"| training, PyTorch examples recipe (DataLoader + ToTensor) | {t['images_per_s']['recipe']:,.0f} images/s |",
        f"| median speed-up, interleaved A/B ({len(t['seconds']['train_vae'])} rounds each) | "
        f"{t['median_speedup']:.2f}x |",
        f"| achieved FLOP/s of `train_vae`'s epoch ({t['gflop_per_epoch']:.0f} GFLOP) | "
        f"{t['achieved_gflops']:.1f} GFLOP/s |",
        f"| fp32 matmul peak (torch.mm {results['peak']['n']}x{results['peak']['n']}) | "
        f"{results['peak']['gflops']:.1f} GFLOP/s |",
        f"| share of the peak | {100 * t['achieved_gflops'] / results['peak']['gflops']:.0f}% |",
        f"| live explorer: one slider update (decode + images), {s['updates']} updates | "
        f"p50 {s['p50_ms']:.1f} ms, p95 {s['p95_ms']:.1f} ms |",
        f"| peak memory, training one epoch ({results['training_memory']['images']:,} images) | "
        f"{results['training_memory']['peak_rss_mb']:,.0f} MB |",
    ]
    c = results["checks"]
    before, after = c["images_per_s"]["before (checks every step)"], c["images_per_s"]["after (checks once)"]
    lines += [
        f"| `train_vae`, per-step value checks (before) vs checks once (after), {c['images']:,} images | "
        f"{before:,.0f} vs {after:,.0f} images/s ({after / before:.2f}x) |",
        f"| host syncs in one epoch of `train_vae` ({results['host_syncs_per_epoch']['steps']} steps) | "
        f"{results['host_syncs_per_epoch']['host_syncs']} |",
    ]
    cuda = results["cuda"]
    lines.append(f"| CUDA | {cuda['why']} |" if not cuda["measured"] else
                 f"| CUDA ({cuda['device_name']}) | checks: {cuda['checks']['images_per_s']} |")
    lines += full_mnist_rows(results.get("full_mnist"))
    book = results.get("book")
    if book:
        lines += [
            f"| `make book`, cold (empty cache, full mode) | {book['cold_build']['seconds']:,.0f} s, "
            f"peak memory {book['cold_build']['peak_rss_mb']:,.0f} MB |",
            f"| `make book`, warm (cache hit) | {book['warm_build']['seconds']:,.0f} s |",
            f"| `make test` (quick-book cache cleared first, as on CI) | {book['make_test']['seconds']:,.0f} s, "
            f"peak memory {book['make_test']['peak_rss_mb']:,.0f} MB |",
        ]
    else:
        lines.append("| book build and test times | not measured in this run (--smoke, --training-only or --skip-book) |")
    lines += ["", "## Reading these numbers", "", *NOTES]
    return "\n".join(lines) + "\n"


def full_mnist_rows(full: dict | None) -> list[str]:
    """The report's rows for :func:`full_mnist_runs`: the cold build and each chapter's time in it,
    and the training chapters with published weights (the newer of the build's and a separate run's)."""
    if not full:
        return ["| the book on full MNIST | not measured yet (python -m benchmarks --full-mnist DIR) |"]
    timeout, book = cell_timeout(), full["book"]
    longest = max(run["seconds"] for run in book["chapters"].values())
    rows = [f"| `make book`, cold, full MNIST, fresh clone, every model trained (measured {full['date']}) | "
            f"{book['seconds']:,.0f} s ({book['seconds'] / 60:.0f} min), peak memory {book['peak_rss_mb']:,.0f} MB; "
            f"longest chapter {longest:,.0f} s, so no cell took longer: {timeout / max(longest, 1):.1f}x margin to "
            f"the {timeout:,} s cell timeout |"]
    rows += [f"| ... of which {name} | {run['seconds']:,.0f} s |" for name, run in sorted(book["chapters"].items())]
    published = full.get("published")
    if not published:
        return rows + ["| the training chapters with published weights | not measured yet |"]
    for stem in PUBLISHED_CHAPTERS:
        run = published["chapters"].get(stem)
        scratch = book["chapters"].get(stem)
        if scratch:
            rows.append(f"| chapter {stem[:2]} Run-all, full MNIST, from scratch (2 cores, install and download "
                        f"excluded) | {scratch['seconds']:,.0f} s ({scratch['seconds'] / 60:.1f} min) |")
        if run:
            rows += [f"| chapter {stem[:2]} Run-all, full MNIST, published weights (measured {published['date']}, 2 "
                     f"cores, install and download excluded) | {run['seconds']:,.0f} s ({run['seconds'] / 60:.1f} min) |",
                     f"| target: chapter {stem[:2]} with published weights in at most 60 s | "
                     f"{'met' if run['seconds'] <= 60 else 'not met'} ({run['seconds']:.0f} s) |"]
    rows.append(f"| the published weights ({published['checkpoints']} checkpoints) | {published['release_mb']:.1f} MB |")
    return rows


NOTES = [
    "- **Training against the recipe.** Both sides train the same `VAE()` with the same loss; only "
    "the data pipeline and the loop differ. A profile of `train_vae`'s epoch gives matmuls 51% of the "
    "time, Adam 28% and input checks about 5%. The recipe's DataLoader with a per-sample "
    "`ToTensor` adds about 50 microseconds per image. Even a loop that spent nothing beyond its "
    "matmuls would be at most about 2.8x faster than the recipe. Fused and foreach Adam were "
    "slower here than the default, and `torch.compile` gave no gain for this MLP when measured "
    "here. The slider update is the live explorer's decode and two PNG encodings.",
    "- **FLOP/s** are the matrix multiplies of one training step counted by "
    "`torch.utils.flop_counter.FlopCounterMode` (forward, weight gradients, and input gradients except "
    "the first layer's, whose input, the data, needs none), divided by the measured time.",
    "- **Peak memory** is the largest single process among a command's descendants (the "
    "training run itself, or the notebook kernels and Sphinx for the build), read with "
    "`getrusage(RUSAGE_CHILDREN)` in a fresh wrapper process.",
    "- **The data** are the 5,000 offline MNIST digits; for the training benchmark the 4,000 "
    "training digits are repeated up to 60,000 images (one full-size epoch).",
    "- **Value checks.** A loop that checks its batch's values at every step (finite, in [0, 1]: "
    "conversions of tensors to Python values, each a wait for the device) against `train_vae`, which "
    "checks its images once and converts one tensor per epoch (the host-sync row, counted as "
    "`tests/test_training.py` counts them). On a CPU the difference is a few per cent; on a GPU "
    "each conversion stalls the queue, which the CUDA row measures where a GPU is present.",
    "- **The beta sweep** trains one model after another (`checkpoints.load_or_train_sweep` calls `train_vae` "
    "for each beta), so its rate is the training row's. Until 2026-12 it trained the K models stacked "
    "(`vae_utils.ensemble`, each linear layer's K copies as one `addmm` or `baddbmm`). Measured last on "
    "2026-12-04 against the same models trained one after another (`python -m benchmarks --sweep-only` before the "
    "removal: 1 torch thread, this 2-core machine shared with other jobs, load average 1.7; one epoch of 8,000 "
    "images, 4 interleaved rounds), stacking was 1.08x as fast for K = 4 and 0.93x for K = 9 (with 2 threads "
    "on 2026-11-26: 1.20x to 1.35x one model's rate). Below the 1.2x that would pay for a second training "
    "path (a stacked forward pass, and a model axis in the loop), it was removed.",
    "- **The book on full MNIST** is `make book` in a fresh clone with an empty execution cache and "
    "`VAE_BOOK_WEIGHTS=none`, as the release workflow builds it: every model is trained (the nine of "
    "chapter 03 and its exercise's, the 22 more of chapter 05). A training chapter's run in that build "
    "is its from-scratch Run-all; it then runs again in a fresh copy of the notebooks with the weights that "
    "build trained, published as a release folder served on 127.0.0.1, as a reader who installed the "
    "book's release gets them (`--published-only DIR` measures only these runs, with the weights this "
    "checkout trained). A "
    "chapter's time in the build is the one jupyter-cache records for it (its cached notebook keeps "
    "the committed notebook's cell timings, not the build's); the longest chapter bounds every cell, "
    "and `_config.yml`'s cell timeout must keep a 2x margin over it on a 2-core runner "
    "(`tests/test_benchmarks.py` checks the margin).",
]


def cell_timeout() -> int:
    """``_config.yml``'s per-cell execution timeout, in seconds."""
    import yaml

    return int(yaml.safe_load((ROOT / "_config.yml").read_text())["execute"]["timeout"])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: proves it runs, measures nothing")
    parser.add_argument("--out", type=Path, default=HERE, help="folder for results.md and results.json")
    parser.add_argument("--training-only", action="store_true", help="skip the book, test and chapter timings")
    parser.add_argument("--skip-book", action="store_true", help="skip the book's build and test timings")
    parser.add_argument("--full-mnist", type=Path, metavar="DIR",
                        help="with full MNIST in DIR: the cold book build and chapter 03 with published weights "
                             "(about an hour on 2 cores); without it, the last such record in --out is kept")
    parser.add_argument("--published-only", type=Path, metavar="DIR",
                        help="with full MNIST in DIR: only the training chapters with the weights this checkout "
                             "trained (minutes); the last cold-build record in --out is kept")
    args = parser.parse_args(argv)
    smoke = args.smoke
    results = {"date": time.strftime("%Y-%m-%d"), "smoke": smoke, "machine": machine()}
    results["training"] = throughput(n_images=1_000 if smoke else 60_000, rounds=2 if smoke else 6)
    n = 512 if smoke else 4096
    results["peak"] = {"n": n, "gflops": matmul_peak_gflops(n, repeats=2 if smoke else 10)}
    results["host_syncs_per_epoch"] = host_syncs_per_epoch()
    results["checks"] = checks_before_after(1_024 if smoke else 20_000, rounds=2 if smoke else 6)
    results["cuda"] = cuda_benchmarks(smoke)
    results["slider"] = slider_latency(updates=20 if smoke else 300)
    results["training_memory"] = training_memory(1_000 if smoke else 60_000)
    mnist = args.full_mnist or args.published_only
    if mnist and not (mnist / "MNIST" / "raw" / "train-images-idx3-ubyte").is_file():
        parser.error(f"no full MNIST in {mnist} (expected MNIST/raw/train-images-idx3-ubyte)")
    last = (json.loads((args.out / "results.json").read_text()).get("full_mnist")
            if not smoke and (args.out / "results.json").is_file() else None)
    if args.full_mnist:
        results["full_mnist"] = full_mnist_runs(args.full_mnist)
    elif args.published_only:
        results["full_mnist"] = {**(last or {}), "published": published_runs(args.published_only)}
    elif last:
        results["full_mnist"] = last
    if not smoke and not args.training_only and not args.skip_book:
        with tempfile.TemporaryDirectory() as out_dir:
            results["book"] = book_and_tests(Path(out_dir))
    args.out.mkdir(parents=True, exist_ok=True)
    command = "python -m benchmarks" + "".join(f" --{flag.replace('_', '-')}" for flag in ("smoke", "training_only", "skip_book")
                                               if getattr(args, flag)) + (" --full-mnist DIR" if args.full_mnist else "") + (" --published-only DIR" if args.published_only else "")
    results["command"] = command
    write_results(args.out, results)
    return 0


def write_results(out: Path, results: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "results.md").write_text(report(results, results["command"]))
    print(report(results, results["command"]))


if __name__ == "__main__":
    sys.exit(main())
