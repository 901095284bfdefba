# Two commands do everything on a fresh machine:
#   make book   set up .venv and the offline assets, then build the whole book (full mode)
#   make test   set up the same, then run every test: helpers, notebooks (nbval), browser
# and the printed book: make pdf, make pdf-teacher (no solutions), make test-pdf (see below).
# While you work: make test-fast, the unit loop (under a minute): the helpers' tests less those
# marked slow, browser, pdf or full, and no nbval.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
JB     := $(BIN)/jupyter-book
QUICK  := VAE_BOOK_QUICK=1
# One torch thread for every test (the helpers', the notebooks the browser tests' build runs, nbval):
# on a 2-core machine that something else is using, torch's two threads wait on each other, and
# training ran at 200 images/s instead of 9,500 (the helpers' suite took 14 minutes instead of 4,
# strict nbval 59 s instead of 22, with the same outputs). On an idle machine two threads train
# about 1.3x faster: make test TEST_THREADS=2.
TEST_THREADS ?= 1
BOOK_OUT ?= .
# Strict nbval (every output compared) for the deterministic chapters; lax nbval
# (only the cells tagged nbval-check-output) for the chapters that train models.
STRICT_NOTEBOOKS := notebooks/00_the_elbo.ipynb notebooks/01_gaussian_likelihood_to_mse.ipynb notebooks/02_kl_divergence.ipynb \
                    notebooks/further_exact_elbo.ipynb notebooks/further_reconstruction_losses.ipynb \
                    notebooks/further_full_covariance_kl.ipynb
LAX_NOTEBOOKS    := notebooks/03_with_and_without_kl.ipynb notebooks/04_latent_explorer.ipynb \
                    notebooks/05_more_latent_dimensions.ipynb

.PHONY: book book-quick book-full-check release-assets pdf pdf-teacher test test-fast test-helpers test-notebooks \
	test-pdf test-full test-platforms notebooks setup-cells venv vendor widgets7 bench bench-smoke linkcheck clean

book: venv vendor
	$(JB) build . -W -n --keep-going --path-output $(BOOK_OUT)
	@echo "The book: file://$(abspath $(BOOK_OUT))/_build/html/index.html"

# Quick mode, built apart from the full book so that their execution caches never mix.
book-quick: venv vendor
	$(QUICK) $(JB) build . -W -n --keep-going --path-output _build/quick
	@echo "The quick book: file://$(CURDIR)/_build/quick/_build/html/index.html"

# The book as a PDF: built as one page (Sphinx's singlehtml) and printed by Debian's Chromium,
# offline (book/print_pdf.py; the print stylesheet is in book/_ext/print_edition.py). The one-page
# build shares the web book's --path-output, so its notebook execution cache is reused. Full mode
# unless the caller sets VAE_BOOK_QUICK=1 (then from the quick build's folder): the release runs
# them in full mode after `make book`.
ifeq ($(VAE_BOOK_QUICK),1)
PDF_BOOK    := _build/quick
PDF_TEACHER := _build/quick-teacher
else
PDF_BOOK    := $(BOOK_OUT)
PDF_TEACHER := _build/teacher
endif
PDF_OUT ?= _build/pdf

pdf: venv vendor
	$(PY) book/print_pdf.py --path-output $(PDF_BOOK) --out $(PDF_OUT)/vae-kl-book.pdf

# The teacher's edition: the same book with every solution left out, built in its own folder
# (its execution cache seeded from the web book's, so no notebook runs twice).
pdf-teacher: venv vendor
	$(PY) book/print_pdf.py --no-solutions --path-output $(PDF_TEACHER) --cache-from $(PDF_BOOK) \
		--out $(PDF_OUT)/vae-kl-book-no-solutions.pdf

test: test-helpers test-notebooks

# Everything but the PDF tests (marked pdf), which build and print both editions (minutes more),
# and the full-MNIST tests (marked full, half an hour: make test-full, make book-full-check).
test-helpers: venv vendor widgets7
	$(QUICK) OMP_NUM_THREADS=$(TEST_THREADS) $(PY) -m pytest tests -m "not pdf and not full"

# The unit loop: every helper test but the slow ones (wheel builds, trainings of several models, the
# benchmarks' smoke run: marked slow, seconds each), the browser, PDF and full-MNIST tests; no nbval.
# make test runs all of these too.
test-fast: venv
	$(QUICK) OMP_NUM_THREADS=$(TEST_THREADS) $(PY) -m pytest tests -m "not slow and not browser and not pdf and not full" -q

# The printed book (tests/test_pdf.py): both editions in quick mode, read back with pypdf. Apart
# from `make test` because it takes minutes; the release workflow runs it.
test-pdf: venv vendor
	$(QUICK) $(PY) -m pytest tests/test_pdf.py -m pdf

test-notebooks: venv
	$(QUICK) OMP_NUM_THREADS=$(TEST_THREADS) $(PY) -m pytest --nbval $(STRICT_NOTEBOOKS)
	$(QUICK) OMP_NUM_THREADS=$(TEST_THREADS) $(PY) -m pytest --nbval-lax $(LAX_NOTEBOOKS)

# Where full MNIST is, in torchvision's layout (DIR/MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte):
# $VAE_BOOK_DATA, else the download cache. torchvision's download fills it; a folder that already has
# those four files can be named by VAE_BOOK_DATA instead.
MNIST_DIR ?= $(or $(VAE_BOOK_DATA),$(HOME)/.cache/vae_book)
HAVE_FULL_MNIST = test -f "$(MNIST_DIR)/MNIST/raw/train-images-idx3-ubyte"
# The outputs committed and published come from models trained here, never from downloaded weights.
FULL := VAE_BOOK_DATA=$(MNIST_DIR) VAE_BOOK_WEIGHTS=none

# Re-run every notebook in full mode and store its outputs: what is committed, and what nbval
# compares against. Run it after changing a notebook or a helper it calls. It says which data it uses.
notebooks: venv
	@if $(HAVE_FULL_MNIST); then echo "make notebooks: full MNIST from $(MNIST_DIR)"; \
	else echo "make notebooks: no full MNIST in $(MNIST_DIR): the chapters download it, or use the offline digits"; fi
	cd notebooks && for nb in *.ipynb; do $(FULL) ../$(BIN)/jupyter execute --inplace $$nb || exit 1; done

# The rehearsal of a release: the whole book, cold, on full MNIST, then the chapters' claims for
# three random seeds on full MNIST (tests marked `full`). The release workflow runs it.
book-full-check: venv vendor
	@$(HAVE_FULL_MNIST) || { echo "book-full-check needs full MNIST in $(MNIST_DIR) (torchvision's layout," \
		"MNIST/raw/*-ubyte; or set VAE_BOOK_DATA to a folder that has it): downloading it with torchvision"; \
		$(FULL) $(PY) -c "from vae_utils import data; data.load_mnist('train', source='torchvision')"; }
	rm -rf _build/.jupyter_cache
	$(FULL) $(JB) build . -W -n --keep-going
	$(FULL) $(PY) -m pytest -m full tests -p no:cacheprovider

test-full: venv
	$(FULL) $(PY) -m pytest -m full tests

# Readers' platforms (tests/platforms/*.txt: Colab's and Kaggle's exact versions): a venv each, every
# notebook alone in a fresh folder by both routes into vae_utils, then the unit tests; report in
# _build/platforms/. Several GB of wheels and about half an hour: not part of make test. The weekly
# workflow .github/workflows/platforms.yml runs the same script.
test-platforms:
	$(PYTHON) tests/platforms/rehearse.py

# What a release attaches (the release workflow runs this after book-full-check and the PDFs):
# the built HTML as a zip, the checkpoints of chapters 03 and 04 with their manifest, the PDFs.
release-assets: venv
	rm -rf _build/release && mkdir -p _build/release
	$(PY) -c "import shutil; shutil.make_archive('_build/release/vae-kl-book-html', 'zip', '_build', 'html')"
	cp notebooks/checkpoints/full/60000-images/*.pt _build/release/
	$(PY) .ci/release_manifest.py _build/release
	cp _build/pdf/*.pdf _build/release/ 2>/dev/null || echo "no PDFs in _build/pdf: run make pdf pdf-teacher first"

# One set-up cell in every notebook: notebooks/setup_cell.py, written into each first code cell.
setup-cells: venv
	$(PY) notebooks/sync_setup_cells.py

# External links need a network: offline, the check is skipped and says so.
linkcheck: venv
	@if $(PY) -c "import sys, vae_utils.data as d; sys.exit(not d.network_reachable())"; then \
		$(JB) build . --builder linkcheck; \
	else \
		echo "External link check skipped: no network (run make linkcheck where there is one)."; \
	fi

bench: venv
	$(PY) -m benchmarks

bench-smoke: venv
	$(PY) -m benchmarks --smoke --out _build/bench-smoke

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt constraints.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -r requirements-dev.txt
	touch $@

# Colab's ipywidgets 7.7.1 and its pure-Python companions, beside (not inside) the venv: the tests
# run the live explorers against it in a subprocess, with no second torch.
widgets7: .widgets7/.installed

.widgets7/.installed: Makefile
	rm -rf .widgets7
	$(PY) -m pip install -q --target .widgets7 --no-deps ipywidgets==7.7.1 ipython_genutils==0.2.0 \
		widgetsnbextension==3.6.10 jupyterlab_widgets==1.1.11
	touch $@

# MathJax, RequireJS, the widget embedder and axe-core, served from the build so pages read offline.
vendor: _vendor/.installed

_vendor/.installed: package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	rm -rf _vendor && mkdir -p _vendor
	cp -r node_modules/mathjax/es5 _vendor/mathjax
	cp node_modules/requirejs/require.js _vendor/require.js
	cp node_modules/@jupyter-widgets/html-manager/dist/embed-amd.js _vendor/embed-amd.js
	mkdir -p _vendor/@jupyter-widgets/html-manager/dist
	cd node_modules/@jupyter-widgets/html-manager/dist && cp *.woff *.woff2 *.ttf *.eot *.svg $(CURDIR)/_vendor/@jupyter-widgets/html-manager/dist/
	touch $@

clean:
	rm -rf _build _vendor node_modules notebooks/checkpoints .widgets7
