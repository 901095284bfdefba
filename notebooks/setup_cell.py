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
                  "\nneed it), or upload the repository as a Kaggle dataset and pip install it from /kaggle/input/...")
        else:
            print("\nCheck the network, or pip install the repository from a local copy.")
        raise RuntimeError("the book's helpers (vae_utils) are not installed: see the advice above")
