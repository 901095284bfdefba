"""What delivers the book, apart from its maths: the maintainer's layer of ``vae_utils``.

The chapters' settings (quick mode, epochs, where trained models are kept), trained models on
disk and the weights a release publishes, and the pages, pictures and widgets of the live and
the static book. These modules import the reader's layer (the modules of ``vae_utils`` itself);
the reader's layer never imports them. The book's API page, ``book/api.md``, lists both layers.
"""
