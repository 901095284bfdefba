"""The figures and pictures: scatter, decoded grids, tiles, history plots, PNGs."""
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from vae_utils.latent import latent_grid, tile_images
from vae_utils.models import VAE
from vae_utils.plotting import decode_grid, latent_scatter, plot_history, show_images


def test_latent_scatter_has_title_labels_and_colorbar(tiny_vae, small_batch):
    x, y = small_batch
    ax = latent_scatter(tiny_vae, x, y)
    assert ax.get_title() and ax.get_xlabel() == "$z_1$" and ax.get_ylabel() == "$z_2$"
    assert any(a.get_ylabel() == "digit" for a in ax.figure.axes)  # the colour bar
    plt.close("all")


def test_decode_grid_draws_the_decoder_on_latent_axes(tiny_vae):
    ax = decode_grid(tiny_vae, (-2, 2), (-1, 3), n=5)
    assert ax.images[0].get_extent() == [-2, 2, -1, 3]
    canvas = ax.images[0].get_array()
    top_left = tiny_vae.decode(torch.tensor([[-2.0, 3.0]]))[0, 0].detach().numpy()
    np.testing.assert_allclose(canvas[:28, :28], top_left, atol=1e-6)
    plt.close("all")


def test_latent_grid_layout():
    z = latent_grid((0, 1), (10, 20), 3)
    assert z.shape == (9, 2)
    assert z[0].tolist() == [0.0, 20.0] and z[2].tolist() == [1.0, 20.0] and z[8].tolist() == [1.0, 10.0]


def test_tile_images_places_row_by_row():
    imgs = (torch.arange(1, 4, dtype=torch.float32) / 4).view(3, 1, 1, 1).expand(3, 1, 28, 28)
    canvas = tile_images(imgs, ncol=2)
    assert canvas.shape == (56, 56) and canvas[0, 0] == 0.25 and canvas[0, 28] == 0.5 and canvas[28, 0] == 0.75
    assert canvas[28, 28] == 0  # no fourth image: left black


def test_plot_history_and_show_images(small_batch):
    ax = plot_history({"loss": [3, 2], "recon": [2, 1.5], "kl": [1, 0.5]})
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["reconstruction", "KL", "total"]
    ax = show_images(small_batch[0][:12], ncol=6, title="Some digits")
    assert ax.get_title() == "Some digits"
    plt.close("all")


def test_a_2d_picture_refuses_a_model_of_another_latent_dimension(small_batch):
    """The figures trust their callers, but a 2-D picture of a 1-D or 3-D model would be drawn
    wrongly, not refused by torch: latent_scatter would show two of three coordinates, and
    aggregate_density would spread a 1-D model's codes over the plane."""
    from vae_utils.plotting import aggregate_density

    x, y = small_batch
    with pytest.raises(ValueError, match="^model must have latent_dim=2"):
        latent_scatter(VAE(latent_dim=3).eval(), x, y)
    with pytest.raises(ValueError, match="^model must have latent_dim=2"):
        aggregate_density(VAE(latent_dim=1).eval(), x)
    plt.close("all")


def test_the_path_endpoint_refuses_labels_of_another_set(small_batch, small_vae):
    """best_reconstructed_index trusts its caller but for the labels: shorter labels than images
    (e.g. of another set) would point at an image of another digit, silently."""
    from vae_utils.latent import best_reconstructed_index

    x, y = small_batch
    models = {"a": small_vae(0).eval(), "b": small_vae(1).eval()}
    index = best_reconstructed_index(models, x, y, 3)
    assert y[index] == 3
    with pytest.raises(ValueError, match=r"^labels .*int64 tensor of shape \[64\]"):
        best_reconstructed_index(models, x, y[:32], 3)
