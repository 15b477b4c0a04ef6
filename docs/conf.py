"""Sphinx configuration of the skbcnn documentation.

Build (warnings are errors)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

``SKBCNN_QUICK=1`` makes the gallery examples run on small data (a couple of
minutes for the whole site on 2 CPU cores). The build needs no network:
intersphinx links to Python, NumPy, scikit-learn and scikit-image are only
made when ``SKBCNN_DOCS_INTERSPHINX=1`` is set.
"""

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the checkout, also without `pip install -e`

# Headless figures and quiet TensorFlow for the gallery run.
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import skbcnn  # noqa: E402

# -- Project -----------------------------------------------------------------
project = "skbcnn"
author = "skbcnn developers"
copyright = "skbcnn developers, BSD-3-Clause"
release = skbcnn.__version__
version = ".".join(release.split(".")[:2])

# -- Extensions --------------------------------------------------------------
extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "sphinx.ext.intersphinx",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = [
    "_build",
    "Thumbs.db",
    ".DS_Store",
    "auto_examples/*.ipynb",
    "auto_examples/*.py",
    "auto_examples/*.zip",
    "auto_examples/*.md5",
    "auto_examples/*.codeobj.json",
    "_static/demo_report",
]
templates_path = ["_templates"]

# MyST: ```{directive}``` blocks, :::{note} fences, $math$, heading anchors.
myst_enable_extensions = ["colon_fence", "deflist", "dollarmath"]
myst_heading_anchors = 3

# -- API reference -------------------------------------------------------------
autosummary_generate = True
autosummary_imported_members = False
autodoc_typehints = "none"
numpydoc_show_class_members = False  # members are listed by the autosummary templates
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False
add_module_names = False

# -- Cross-project links: off unless asked for (the build must work offline) --
intersphinx_mapping = {}
if os.environ.get("SKBCNN_DOCS_INTERSPHINX") == "1":
    intersphinx_mapping = {
        "python": ("https://docs.python.org/3", None),
        "numpy": ("https://numpy.org/doc/stable", None),
        "sklearn": ("https://scikit-learn.org/stable", None),
        "skimage": ("https://scikit-image.org/docs/stable", None),
    }
    intersphinx_timeout = 10

# -- Gallery -----------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r".*\.py$",  # run every example, not only plot_*
    "ignore_pattern": r"__init__\.py",
    "abort_on_example_error": True,
    "only_warn_on_example_error": False,
    "within_subsection_order": "FileNameSortKey",
    "doc_module": ("skbcnn",),
    "backreferences_dir": "generated/backreferences",
    "reference_url": {"skbcnn": None},
    "download_all_examples": False,
    "remove_config_comments": True,
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
    "reset_modules": ("matplotlib",),
    "capture_repr": (),
    "show_memory": False,
    "min_reported_time": 1,
}

# -- HTML --------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"skbcnn {release}"
html_static_path = []
html_theme_options = {
    "show_toc_level": 2,
    "navigation_with_keys": False,
}
html_show_sourcelink = False


# -- Short and long names of the same object -----------------------------------
# ``skbcnn.CNNClassifier`` (top-level, lazy) and ``skbcnn.classifier.CNNClassifier``
# are the same object; docstrings use both. Resolve whichever one is not the
# documented name to the one that is.
def _aliases(target):
    lazy = skbcnn._LAZY
    parts = target.split(".")
    if len(parts) == 2 and parts[0] == "skbcnn" and parts[1] in lazy:
        yield f"skbcnn.{lazy[parts[1]]}.{parts[1]}"
    if len(parts) == 3 and parts[0] == "skbcnn" and lazy.get(parts[2]) == parts[1]:
        yield f"skbcnn.{parts[2]}"
    if parts[:2] == ["skbcnn", "synthetic"] and len(parts) == 3:
        yield f"skbcnn.datasets.{parts[2]}"


def _resolve_alias(app, env, node, contnode):
    if node.get("refdomain") != "py":
        return None
    domain = env.get_domain("py")
    for alias in _aliases(node.get("reftarget", "")):
        if domain.find_obj(env, None, None, alias, node.get("reftype"), 1):
            node["reftarget"] = alias
            return domain.resolve_xref(env, node["refdoc"], app.builder, node["reftype"],
                                       alias, node, contnode)
    return None


def setup(app):
    app.connect("missing-reference", _resolve_alias)
