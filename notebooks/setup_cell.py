# Set-up for Colab and Kaggle: make the book's helpers (`vae_utils`) importable. Where they are
# already installed (locally, on Binder) it does nothing. Else it uses a copy of the book's
# repository found beside this notebook or among Kaggle's inputs (read-only is fine: nothing is
# built), or installs the release that matches this book from GitHub.
import glob, importlib.util, os, re, subprocess, sys

REPO = "https://github.com/vae-kl-book/vae-kl-book"
REF = "v0.2.0"  # the release tag of this book's version (vae_utils.__version__)
COPIES = ("../vae_utils", "*/vae_utils", "../*/vae_utils", "/kaggle/input/*/vae_utils", "/kaggle/input/*/*/vae_utils")
if importlib.util.find_spec("vae_utils") is None:
    found = [os.path.dirname(os.path.abspath(p)) for pattern in COPIES for p in sorted(glob.glob(pattern))
             if os.path.isfile(os.path.join(p, "__init__.py"))]
    if found:
        sys.path.insert(0, found[0])
        version = re.search(r'__version__ = "([^"]+)"', open(os.path.join(found[0], "vae_utils", "__init__.py")).read())
        print(f"vae_utils {version[1] if version else '(version unknown)'}: the copy in {found[0]}")
    else:
        pip = subprocess.run([sys.executable, "-m", "pip", "install", "-q", f"vae_utils @ git+{REPO}@{REF}"],
                             capture_output=True, text=True)
        if pip.returncode != 0:
            reason = [line.strip() for line in pip.stderr.splitlines() if line.strip().startswith(("fatal:", "ERROR:"))]
            print(*(reason or pip.stderr.splitlines()[-3:]), sep="\n")
            if "KAGGLE_KERNEL_RUN_TYPE" in os.environ:
                print("\nOn Kaggle, turn Internet on in the notebook's settings (the set-up and the MNIST download need it),"
                      "\nor add the book's repository as a dataset (Add Input) and run this cell again: it is used as it is.")
            else:
                print("\nCheck the network, or unpack a copy of the book's repository (a clone or its zip) beside this"
                      "\nnotebook and run this cell again: it is used as it is, with nothing to install.")
            raise RuntimeError("the book's helpers (vae_utils) are not installed: see the advice above")
