# Set-up for Colab and Kaggle: install the book's helpers (`vae_utils`) at the release that
# matches this book. Where they are already installed (locally, on Binder) it does nothing.
import importlib.util, os, subprocess, sys

REPO = "https://github.com/vae-kl-book/vae-kl-book"
REF = "v0.2.0"  # the release tag of this book's version (vae_utils.__version__)
if importlib.util.find_spec("vae_utils") is None:
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "-q", f"vae_utils @ git+{REPO}@{REF}"],
                         capture_output=True, text=True)
    if pip.returncode != 0:
        reason = [line.strip() for line in pip.stderr.splitlines() if line.strip().startswith(("fatal:", "ERROR:"))]
        print(*(reason or pip.stderr.splitlines()[-3:]), sep="\n")
        if "KAGGLE_KERNEL_RUN_TYPE" in os.environ:
            print("\nOn Kaggle, turn Internet on in the notebook's settings (the set-up and the MNIST download"
                  "\nneed it), or add the repository as a Kaggle dataset and run, offline,"
                  "\n%pip install --no-build-isolation /kaggle/input/<its folder>")
        else:
            print("\nCheck the network, or install a local copy of the repository:"
                  "\n%pip install --no-build-isolation <its folder>")
        raise RuntimeError("the book's helpers (vae_utils) are not installed: see the advice above")
