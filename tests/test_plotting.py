"""The figures and pictures: scatter, decoded grids, tiles, history plots, PNGs; work and boxes bounded."""
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from vae_utils.latent import latent_box, latent_grid, tile_images
from vae_utils.models import VAE
from vae_utils.pictures import grid_sprite, png_bytes
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


def test_bad_inputs_name_the_argument(small_batch):
    x, y = small_batch
    with pytest.raises(ValueError, match="^model"):
        latent_scatter(VAE(latent_dim=3), x, y)
    with pytest.raises(ValueError, match="^labels"):
        latent_scatter(VAE(), x, y[:10])
    with pytest.raises(ValueError, match="^x_range"):
        decode_grid(VAE(), (2, -2), (0, 1))
    with pytest.raises(ValueError, match="^y_range"):
        decode_grid(VAE(), (-2, 2), (0, float("inf")))
    with pytest.raises(ValueError, match="^history"):
        plot_history({"loss": [1]})


@pytest.mark.parametrize("call, name", [
    (lambda m: latent_grid((0, 1), (0, 1), 40_000), "n"),
    (lambda m: tile_images(torch.zeros(1, 1, 28, 28, dtype=torch.uint8).expand(10**6, 1, 28, 28), 10), "images"),
    (lambda m: decode_grid(m, (0, 1), (0, 1), n=1500), "n"),
    (lambda m: grid_sprite(m, ((0, 1), (0, 1)), 1500), "grid"),
])
def test_unbounded_work_is_refused_naming_the_limit(small_vae, call, name):
    with pytest.raises(ValueError, match=rf"^{name} must"):
        call(small_vae().eval())


def test_degenerate_latent_boxes_and_grids_are_refused():
    with pytest.raises(ValueError, match="^means must lie within"):
        latent_box(torch.full((4, 2), 1e17))
    with pytest.raises(ValueError, match="^x_range .* too narrow"):
        latent_grid((1e8, 1e8 + 1), (0, 1), 40)


def test_no_history_and_odd_channel_counts_are_named_value_errors():
    with pytest.raises(ValueError, match="^history must"):
        plot_history(None)
    for channels in (2, 5):
        with pytest.raises(ValueError, match="^array must"):
            png_bytes(np.zeros((4, 4, channels), dtype=np.uint8))
