"""CI runs the benchmarks only in smoke mode: they must run and write their report, not be fast."""
import json

import pytest

from benchmarks.__main__ import ROOT, cell_timeout, full_mnist_rows, main, vae_flops_per_image
from vae_utils.models import VAE


def test_flop_count_of_the_mlp_vae():
    """torch's FlopCounterMode agrees with the count from the layers' shapes.

    Linear layers 784-512, 512-256, 256-4 | 2-256, 256-512, 512-784: 6 MAC blocks of forward +
    weight gradient, and input gradients for all but the first layer (the data need none)."""
    macs = [784 * 512, 512 * 256, 256 * 4, 2 * 256, 256 * 512, 512 * 784]
    expected = sum(4 * m for m in macs) + sum(2 * m for m in macs[1:])
    assert vae_flops_per_image(VAE()) == expected


@pytest.mark.slow
def test_smoke_run_writes_both_reports(tmp_path):
    assert main(["--smoke", "--out", str(tmp_path)]) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["smoke"] is True and results["machine"]["cores"] >= 1
    assert results["training"]["images_per_s"]["train_vae"] > 0 and results["training"]["images_per_s"]["recipe"] > 0
    assert results["slider"]["p95_ms"] >= results["slider"]["p50_ms"] > 0
    assert results["peak"]["gflops"] > 0 and results["training_memory"]["peak_rss_mb"] > 0
    assert results["host_syncs_per_epoch"]["host_syncs"] <= 6
    assert all(v > 0 for v in results["checks"]["images_per_s"].values())
    assert results["cuda"]["measured"] or results["cuda"]["why"] == "not measured: no GPU"
    report = (tmp_path / "results.md").read_text()
    assert "python -m benchmarks --smoke" in report and "images/s" in report
    assert "full_mnist" not in results and "not measured yet" in report  # a smoke run keeps no old record


def _full_mnist_record() -> dict:
    full = json.loads((ROOT / "benchmarks" / "results.json").read_text()).get("full_mnist")
    assert full, "benchmarks/results.json has no full-MNIST record: run python -m benchmarks --full-mnist DIR"
    return full


def test_the_cell_timeout_keeps_a_2x_margin_over_the_longest_chapter_on_full_mnist():
    timeout = cell_timeout()
    longest = max(run["seconds"] for run in _full_mnist_record()["book"]["chapters"].values())
    assert timeout >= 2 * longest, f"cell timeout {timeout} s, longest chapter (and so cell) on full MNIST {longest:.0f} s"


def test_the_report_says_whether_the_target_is_met():
    record = {"date": "2026-01-01", "book": {"seconds": 1800.0, "peak_rss_mb": 2000.0,
                                             "chapters": {"03_with_and_without_kl": {"seconds": 900.0}}},
              "published": {"date": "2026-01-02", "release_mb": 42.8, "checkpoints": 10,
                            "chapters": {"03_with_and_without_kl": {"seconds": 45.0},
                                         "05_more_latent_dimensions": {"seconds": 58.0}}}}
    rows = full_mnist_rows(record)
    assert any("chapter 03 with published weights in at most 60 s | met (45 s)" in row for row in rows)
    assert any("chapter 05 with published weights in at most 60 s | met (58 s)" in row for row in rows)
    assert any("chapter 03 Run-all, full MNIST, from scratch" in row for row in rows)
    assert not any("chapter 05 Run-all, full MNIST, from scratch" in row for row in rows)  # not in that build
    record["published"]["chapters"]["03_with_and_without_kl"]["seconds"] = 61.0
    assert any("| not met (61 s)" in row for row in full_mnist_rows(record))
    assert "not measured yet" in full_mnist_rows(None)[0]
    assert "not measured yet" in full_mnist_rows({**record, "published": None})[-1]
    assert f"{cell_timeout() / 900:.1f}x margin" in full_mnist_rows(record)[0]  # the cell timeout over the 900 s chapter
