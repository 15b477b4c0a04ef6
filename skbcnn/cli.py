"""The ``skbcnn`` command line: ``demo``, ``train``, ``evaluate``, ``predict``
and ``search``.

Results go to stdout, progress and errors to stderr. Errors print
``skbcnn <command>: error: <message>`` and exit with status 2.
TensorFlow is imported only by the commands that need it (not by ``--help``).
"""

import argparse
import contextlib
import json
import pickle
import sys
import time
from pathlib import Path

__all__ = ["main", "build_parser", "load_data", "parse_param"]

# Exceptions reported as "skbcnn <cmd>: error: ..." with exit status 2:
# bad values and files (ValueError covers ImageReadError, JSON/TOML decoding
# and damaged model files), missing/unreadable paths (OSError), unknown keys,
# diverged training (FloatingPointError) and pickles that fail to load.
_USER_ERRORS = (ValueError, OSError, KeyError, ArithmeticError, pickle.UnpicklingError, EOFError)


def _log(args, message):
    if not getattr(args, "quiet", False):
        print(message, file=sys.stderr, flush=True)


class CLIError(ValueError):
    """A usage error detected by the command line itself."""


# ------------------------------------------------------------------ data
def load_data(source, *, image_size=None, classes=None, color="grey", split="train",
              n_samples=600, random_state=0, with_masks=True):
    """Load labelled images for the command line (shared by train/evaluate/search).

    Parameters
    ----------
    source : str
        ``"synthetic"`` (the built-in data set), a MedMNIST ``.npz`` file, a
        BUSI folder (``Dataset_BUSI_with_GT`` or its parent, recognised by its
        ``*_mask.png`` files) or a one-folder-per-class tree.
    image_size : int, optional
        Common image side; default: 64 for ``synthetic``, the file's size for
        ``.npz``, 128 for folders.
    classes : sequence of str, optional
        Classes to load (all by default).
    color : {"grey", "rgb"}, default="grey"
        Colour of the loaded images.
    split : str, default="train"
        Split of a MedMNIST file.
    n_samples : int, default=600
        Images generated for ``synthetic``.
    random_state : int, default=0
        Seed of ``synthetic``.
    with_masks : bool, default=True
        Also load lesion masks where the source has them.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``images``, ``labels`` (class names), ``target_names``, ``masks``
        (bool array or None), ``filenames`` and ``kind``.

    Examples
    --------
    >>> from skbcnn.cli import load_data
    >>> data = load_data("synthetic", n_samples=6, image_size=16)
    >>> data.images.shape, data.kind
    ((6, 16, 16), 'synthetic')
    """
    from sklearn.utils import Bunch

    from . import datasets

    if str(source).lower() == "synthetic":
        kwargs = {} if classes is None else {"classes": classes}
        data = datasets.make_synthetic_ultrasound(
            n_samples, image_size=64 if image_size is None else image_size,
            random_state=random_state, **kwargs,
        )
        images = data.images
        if color == "rgb":
            import numpy as np

            images = np.repeat(images[..., None], 3, axis=-1)
        return Bunch(images=images, labels=data.target_names[data.target], target_names=data.target_names,
                     masks=data.masks if with_masks else None, filenames=data.filenames, kind="synthetic")
    path = Path(source).expanduser()
    if not path.exists():
        raise FileNotFoundError(
            f"data source {source!r} does not exist; DATA must be a folder of class folders, "
            "a BUSI folder, a MedMNIST .npz file or the word 'synthetic'."
        )
    if path.is_file():
        if path.suffix.lower() != ".npz":
            raise CLIError(f"{path} is a file but not a MedMNIST .npz archive; DATA must be a folder, "
                           "an .npz file or 'synthetic'.")
        data = datasets.load_medmnist(path, split=split, image_size=image_size, color=color)
        kind, masks = "medmnist", None
        if classes is not None:
            data = _select_classes(data, classes)
    elif _is_busi(path):
        size = 128 if image_size is None else image_size
        kwargs = {} if classes is None else {"classes": classes}
        kind, masks = "busi", None
        try:
            data = datasets.load_busi(path, image_size=size, color=color, return_masks=with_masks, **kwargs)
            masks = data.get("masks")
        except ValueError as exc:
            if "mask" not in str(exc):
                raise
            data = datasets.load_busi(path, image_size=size, color=color, **kwargs)
    else:
        data = datasets.load_image_folder(
            path, classes=classes, image_size=128 if image_size is None else image_size, color=color
        )
        kind, masks = "folder", None
    return Bunch(images=data.images, labels=data.target_names[data.target], target_names=data.target_names,
                 masks=masks, filenames=data.filenames, kind=kind)


def _select_classes(data, classes):
    import numpy as np

    names = [str(n) for n in data.target_names]
    unknown = [c for c in classes if c not in names]
    if unknown:
        raise CLIError(f"classes {unknown} are not in the data; its classes are {names}.")
    keep = np.isin(data.target_names[data.target], classes)
    data.images, data.target, data.filenames = data.images[keep], data.target[keep], data.filenames[keep]
    return data


def _is_busi(path):
    root = path / "Dataset_BUSI_with_GT" if (path / "Dataset_BUSI_with_GT").is_dir() else path
    if root is not path:
        return True
    for name in ("benign", "malignant", "normal"):
        folder = root / name
        if folder.is_dir() and next(folder.glob("*_mask*.png"), None) is not None:
            return True
    return False


def _data_kwargs(args, **overrides):
    kwargs = dict(
        image_size=getattr(args, "image_size", None),
        classes=_split_list(args.classes) if getattr(args, "classes", None) else None,
        color=getattr(args, "color", "grey"),
        split=args.split,
        n_samples=args.n_samples,
        random_state=args.random_state,
    )
    kwargs.update(overrides)
    return kwargs


def _split_list(text):
    items = [item.strip() for item in str(text).split(",") if item.strip()]
    if not items:
        raise CLIError(f"expected a comma-separated list; got {text!r}.")
    return items


def _describe(data):
    import numpy as np

    names, counts = np.unique(data.labels, return_counts=True)
    return (f"{len(data.images)} images of {data.images.shape[1:]} "
            f"({', '.join(f'{n} {c}' for n, c in zip(names, counts))})")


# ------------------------------------------------------------ parameters
def parse_param(text):
    """``"KEY=VALUE"`` -> ``(key, value)``, the value read as JSON if it can be.

    Examples
    --------
    >>> parse_param("cnn__conv_filters=[16, 32]")
    ('cnn__conv_filters', [16, 32])
    >>> parse_param("cnn__pooling=avg")
    ('cnn__pooling', 'avg')
    """
    key, sep, value = str(text).partition("=")
    key = key.strip()
    if not sep or not key:
        raise CLIError(f"--param expects KEY=VALUE (e.g. cnn__learning_rate=0.001); got {text!r}.")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def _pipeline(args, **extra):
    """``make_cnn_pipeline`` with the command-line settings; checks --param keys."""
    from . import make_cnn_pipeline

    params = dict(
        cnn__epochs=args.epochs,
        cnn__random_state=args.random_state,
        augment__random_state=args.random_state,
        cnn__verbose=2 if getattr(args, "verbose", False) else 0,
    )
    params.update(extra)
    params.update(dict(parse_param(p) for p in (args.param or [])))
    pipeline = make_cnn_pipeline()
    unknown = [k for k in params if not _is_valid_param(pipeline, k)]
    if unknown:
        steps = ", ".join(name for name, _ in pipeline.steps)
        raise CLIError(
            f"unknown pipeline parameter(s) {unknown}; parameters are <step>__<name> with steps "
            f"{steps} (e.g. cnn__learning_rate, augment__rotation)."
        )
    try:
        return pipeline.set_params(**params)
    except TypeError as exc:
        raise CLIError(str(exc)) from None


def _is_valid_param(pipeline, key):
    """A parameter of the pipeline, or a scikeras-routed one of its classifier."""
    if key in pipeline.get_params(deep=True):
        return True
    step, _, rest = key.partition("__")
    estimator = dict(pipeline.steps).get(step)
    prefixes = getattr(estimator, "_routing_prefixes", ())
    return "__" in rest and rest.split("__", 1)[0] in prefixes


def _load_model(path):
    import warnings

    from .persistence import load

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"model file {path} does not exist.")
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        model = load(path)
    if not hasattr(model, "predict_proba") or not hasattr(model, "classes_"):
        raise CLIError(f"{path} does not hold a fitted classifier with predict_proba.")
    return _silence(model)


def _silence(model):
    """No Keras progress bars at prediction time: they would mix with the results on stdout."""
    steps = getattr(model, "steps", None)
    final = steps[-1][1] if steps else model
    if "verbose" in getattr(final, "get_params", dict)():
        final.set_params(verbose=0)
    return model


def _model_image_shape(model):
    """``(H, W, C)`` the model expects, or None when any size is accepted."""
    steps = getattr(model, "steps", None)
    candidates = [steps[0][1], steps[-1][1]] if steps else [model]
    candidates.append(getattr(model, "best_estimator_", None))
    for estimator in candidates:
        shape = getattr(estimator, "image_shape_", None)
        if shape is not None and None not in tuple(shape)[:2]:
            return tuple(shape)
    return None


def _shape_options(model):
    shape = _model_image_shape(model)
    if shape is None:
        return {}
    size = (int(shape[0]), int(shape[1]))
    color = "rgb" if len(shape) == 3 and shape[2] == 3 else "grey"
    return {"image_size": size if size[0] != size[1] else size[0], "color": color}


def _save_model(estimator, path):
    from .persistence import save

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return save(estimator, path)


# -------------------------------------------------------------- commands
def _demo(args):
    import numpy as np
    from sklearn.model_selection import train_test_split

    from . import make_cnn_pipeline
    from .datasets import make_synthetic_ultrasound
    from .evaluation import evaluate, format_report

    _log(args, f"Generating {args.n_samples} synthetic ultrasound images ({args.image_size} px)...")
    data = make_synthetic_ultrasound(
        args.n_samples, image_size=args.image_size, random_state=args.random_state
    )
    labels = data.target_names[data.target]
    train, test = train_test_split(
        np.arange(len(labels)), test_size=0.25, stratify=data.target, random_state=args.random_state,
    )
    pipeline = make_cnn_pipeline(
        cnn__epochs=args.epochs,
        cnn__random_state=args.random_state,
        cnn__verbose=0 if args.quiet else 2,
        augment__random_state=args.random_state,
    )
    _log(args, f"Training the default pipeline on {len(train)} images "
               f"(up to {args.epochs} epochs, early stopping)...")
    start = time.perf_counter()
    with contextlib.redirect_stdout(sys.stderr):  # Keras' epoch lines are progress
        pipeline.fit(data.images[train], labels[train])
    _log(args, f"Trained in {time.perf_counter() - start:.1f} s "
               f"({len(pipeline[-1].history_['loss'])} epochs).")
    _silence(pipeline)
    report = evaluate(pipeline, data.images[test], labels[test])
    print(f"Held-out evaluation ({len(test)} images, classes: {', '.join(np.unique(labels[test]))})")
    print(format_report(report))
    if args.out:
        from .report import write_report

        paths = write_report(pipeline, data.images[test], labels[test], args.out, masks=data.masks[test],
                             title="skbcnn demo: synthetic ultrasound, held-out images")
        _log(args, f"Report written to {paths['html']}")
    return 0


def _train(args):
    data = load_data(args.data, **_data_kwargs(args, with_masks=False))
    pipeline = _pipeline(args)
    _log(args, f"Loaded {_describe(data)} from {args.data}.")
    _log(args, f"Training on {len(data.images)} images (up to {args.epochs} epochs, early stopping)...")
    start = time.perf_counter()
    with contextlib.redirect_stdout(sys.stderr):  # Keras' epoch lines are progress
        pipeline.fit(data.images, data.labels)
    history = pipeline[-1].history_
    _log(args, f"Trained in {time.perf_counter() - start:.1f} s ({len(history['loss'])} epochs; "
               f"final loss {history['loss'][-1]:.3f}"
               + (f", val_loss {history['val_loss'][-1]:.3f}" if history.get("val_loss") else "") + ").")
    path = _save_model(_silence(pipeline), args.out)
    _log(args, f"Model saved to {path}")
    return 0


def _evaluate(args):
    from .evaluation import format_report

    model = _load_model(args.model)
    options = _shape_options(model)
    if getattr(args, "color", None) is None:
        args.color = options.get("color", "grey")
    data = load_data(args.data, **_data_kwargs(args, image_size=options.get("image_size")))
    _log(args, f"Evaluating on {_describe(data)}...")
    if args.out:
        from .report import write_report

        paths = write_report(model, data.images, data.labels, args.out, positive_class=args.positive_class,
                             masks=data.masks)
        report = json.loads(paths["metrics_json"].read_text(encoding="utf-8"))
        report = {k: (float("nan") if v is None else v) for k, v in report.items()}
        print(format_report(report))
        if report.get("grad_cam_hit_rate") is not None:
            print(f"Grad-CAM hit rate   {report['grad_cam_hit_rate']:.3f}  "
                  f"(chance {report['grad_cam_chance']:.3f})")
        _log(args, f"Report written to {paths['html']}")
    else:
        from .evaluation import evaluate

        print(format_report(evaluate(model, data.images, data.labels, positive_class=args.positive_class)))
    return 0


def _image_files(paths):
    """Expand folders into their image files; (files, errors)."""
    from .datasets import IMAGE_EXTENSIONS, _list_class_files

    files, errors = [], []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found = _list_class_files(path, IMAGE_EXTENSIONS)
            if not found:
                errors.append(f"{path}: folder holds no image files.")
            files.extend(found)
        elif path.exists():
            files.append(path)
        else:
            errors.append(f"{path}: no such file or folder.")
    return files, errors


def _predict(args):
    import numpy as np

    from .datasets import ImageReadError, _read_image

    model = _load_model(args.model)
    options = _shape_options(model)
    size = options.get("image_size", 128)
    size = (size, size) if isinstance(size, int) else size
    color = options.get("color", "grey")
    files, errors = _image_files(args.images)
    images, kept = [], []
    for path in files:
        try:
            images.append(_read_image(path, size, color))
            kept.append(path)
        except ImageReadError as exc:
            errors.append(str(exc))
    for message in errors:
        print(f"skbcnn predict: error: {message}", file=sys.stderr)
    if images:
        classes = [c.item() if hasattr(c, "item") else c for c in model.classes_]
        # reshape: CNNClassifier.predict_proba of one image returns shape (n_classes,)
        proba = np.asarray(model.predict_proba(np.stack(images))).reshape(len(images), -1)
        predicted = [classes[i] for i in np.argmax(proba, axis=1)]
        _write_predictions(args.format, kept, predicted, proba, classes)
    elif not errors:
        print("skbcnn predict: error: no images given.", file=sys.stderr)
        return 2
    return 2 if errors else 0


def _write_predictions(fmt, paths, predicted, proba, classes):
    out = sys.stdout
    if fmt == "json":
        rows = [
            {"path": str(p), "predicted": c, "probabilities": {str(k): float(v) for k, v in zip(classes, row)}}
            for p, c, row in zip(paths, predicted, proba)
        ]
        json.dump(rows, out, indent=2)
        out.write("\n")
    elif fmt == "csv":
        import csv

        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["path", "predicted", *(f"proba_{c}" for c in classes)])
        for p, c, row in zip(paths, predicted, proba):
            writer.writerow([str(p), c, *(f"{v:.6f}" for v in row)])
    else:
        for p, c, row in zip(paths, predicted, proba):
            probs = " ".join(f"{k}={v:.3f}" for k, v in zip(classes, row))
            out.write(f"{p}\t{c}\t{probs}\n")
    out.flush()


def _read_grid(path):
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"grid file {path} does not exist.")
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".toml":
        import tomllib

        try:
            grid = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise CLIError(f"{path} is not valid TOML: {exc}") from None
        if set(grid) == {"grid"}:  # [[grid]] tables: a list of grids
            grid = grid["grid"]
    else:
        try:
            grid = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CLIError(f"{path} is not valid JSON: {exc}") from None
    grids = [grid] if isinstance(grid, dict) else grid
    if not isinstance(grids, list) or not grids or not all(isinstance(g, dict) and g for g in grids):
        raise CLIError(f"{path} must hold a non-empty parameter grid: a dict of lists or a list of such dicts.")
    # a single value is a one-value list
    grids = [{k: (v if isinstance(v, list) else [v]) for k, v in g.items()} for g in grids]
    return grids if isinstance(grid, list) else grids[0]


def _search(args):
    from sklearn.base import clone
    from sklearn.model_selection import GridSearchCV, StratifiedKFold

    from .model_selection import format_cv_results, write_cv_results_csv

    grid = _read_grid(args.grid)
    pipeline = _pipeline(args)
    for g in grid if isinstance(grid, list) else [grid]:
        unknown = [k for k in g if not _is_valid_param(pipeline, k)]
        if unknown:
            raise CLIError(f"unknown parameter(s) {unknown} in grid {args.grid}.")
        for key, values in g.items():
            for value in values:
                clone(pipeline).set_params(**{key: value})
    scoring = _split_list(args.scoring)
    refit = args.refit or scoring[0]
    if refit not in scoring:
        raise CLIError(f"--refit {refit!r} must be one of the --scoring metrics {scoring}.")
    data = load_data(args.data, **_data_kwargs(args, with_masks=False))
    _log(args, f"Loaded {_describe(data)} from {args.data}.")
    search = GridSearchCV(
        pipeline, grid,
        scoring=scoring if len(scoring) > 1 else scoring[0],
        refit=refit if len(scoring) > 1 else True,
        cv=StratifiedKFold(args.cv, shuffle=True, random_state=args.random_state),
        n_jobs=args.n_jobs,
        verbose=0 if args.quiet else (3 if args.verbose else 2),
    )
    start = time.perf_counter()
    # scikit-learn prints its progress on stdout: keep stdout for the results
    with contextlib.redirect_stdout(sys.stderr):
        search.fit(data.images, data.labels)
    _log(args, f"Search finished in {time.perf_counter() - start:.1f} s.")
    _silence(search.best_estimator_)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_cv_results_csv(search, out / "cv_results.csv")
    _save_model(search.best_estimator_, out / "best_model.skbcnn")
    print(format_cv_results(search))
    print(f"best {refit}: {search.best_score_:.4f}")
    print("best parameters: " + json.dumps(search.best_params_, default=str, sort_keys=True))
    _log(args, f"Wrote {out / 'cv_results.csv'} and {out / 'best_model.skbcnn'}")
    return 0


# ---------------------------------------------------------------- parser
def _add_verbosity(parser):
    group = parser.add_mutually_exclusive_group()
    group.add_argument("-q", "--quiet", action="store_true", help="print only results and errors")
    group.add_argument("-v", "--verbose", action="store_true", help="show per-epoch training progress")


def _add_data_options(parser, *, image_size=True, n_samples=600, random_state=0, split="train"):
    group = parser.add_argument_group("data")
    if image_size:
        group.add_argument("--image-size", type=int, default=None,
                           help="resize images to this side in pixels (default: 64 for synthetic, "
                                "the file's size for .npz, 128 for folders)")
        group.add_argument("--color", choices=("grey", "rgb"), default="grey",
                           help="load images as grey (default) or RGB")
    group.add_argument("--classes", default=None, help="comma-separated classes to use (default: all)")
    group.add_argument("--split", default=split, help=f"split of a MedMNIST .npz file (default {split})")
    group.add_argument("--n-samples", type=int, default=n_samples,
                       help=f"images generated for DATA=synthetic (default {n_samples})")
    group.add_argument("--random-state", type=int, default=random_state,
                       help=f"seed for data generation, training and CV splits (default {random_state})")


def _add_training_options(parser):
    group = parser.add_argument_group("training")
    group.add_argument("--epochs", type=int, default=200,
                       help="maximum training epochs (default 200, the library default; early stopping)")
    group.add_argument("--param", action="append", metavar="KEY=VALUE", default=[],
                       help="pipeline parameter, repeatable: cnn__learning_rate=0.0005, "
                            "cnn__conv_filters=[16,32], augment__rotation=10 (values read as JSON, "
                            "else as text)")


_DATA_HELP = ("labelled images: a folder with one sub-folder per class, a BUSI folder, "
              "a MedMNIST .npz file, or 'synthetic' (the built-in data set)")


def build_parser():
    """The argument parser of the ``skbcnn`` command (for docs and tests).

    Examples
    --------
    >>> from skbcnn.cli import build_parser
    >>> args = build_parser().parse_args(["train", "synthetic", "--out", "m.skbcnn", "--epochs", "5"])
    >>> args.command, args.epochs
    ('train', 5)
    """
    parser = argparse.ArgumentParser(
        prog="skbcnn",
        description="Classify breast cancer images with scikit-learn pipelines and CNNs.",
    )
    from . import __version__

    parser.add_argument("--version", action="version", version=f"skbcnn {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser(
        "demo",
        help="train and evaluate the default pipeline on the built-in synthetic data",
        description="Generate the built-in synthetic ultrasound data set, train the "
        "default pipeline and print held-out accuracy, balanced accuracy, ROC AUC "
        "and the confusion matrix; with --out, also write a report with figures.",
    )
    demo.add_argument("--n-samples", type=int, default=600, help="images to generate (default 600)")
    demo.add_argument("--image-size", type=int, default=64, help="image side in pixels (default 64)")
    demo.add_argument("--epochs", type=int, default=30, help="maximum training epochs (default 30)")
    demo.add_argument("--random-state", type=int, default=0, help="seed (default 0)")
    demo.add_argument("--out", metavar="DIR", default=None,
                      help="write an evaluation report (figures, metrics, report.html) to DIR")
    demo.add_argument("-q", "--quiet", action="store_true", help="print only the results")
    demo.set_defaults(handler=_demo)

    train = commands.add_parser(
        "train", help="train the default pipeline on labelled images and save it",
        description="Train make_cnn_pipeline() on DATA and save the fitted pipeline with skbcnn.save.",
    )
    train.add_argument("data", metavar="DATA", help=_DATA_HELP)
    train.add_argument("--out", metavar="MODEL", required=True, help="model file to write (e.g. model.skbcnn)")
    _add_data_options(train)
    _add_training_options(train)
    _add_verbosity(train)
    train.set_defaults(handler=_train)

    evaluate = commands.add_parser(
        "evaluate", help="score a saved model on labelled images and write a report",
        description="Load MODEL, load DATA at the model's image size, print the metrics and, "
        "with --out, write metrics.json, metrics.csv, figures and report.html to DIR.",
    )
    evaluate.add_argument("model", metavar="MODEL", help="model file written by 'skbcnn train' or skbcnn.save")
    evaluate.add_argument("data", metavar="DATA", help=_DATA_HELP)
    evaluate.add_argument("--out", metavar="DIR", default=None, help="report folder")
    evaluate.add_argument("--positive-class", default=None,
                          help="class whose sensitivity/specificity is reported (default: malignant)")
    _add_data_options(evaluate, image_size=False, n_samples=200, random_state=1, split="test")
    _add_verbosity(evaluate)
    evaluate.set_defaults(handler=_evaluate, color=None)

    predict = commands.add_parser(
        "predict", help="predict the class of image files",
        description="Print one line per image: path, predicted class and the probability of each "
        "class. Folders are searched for image files. Unreadable files are reported on stderr "
        "and make the exit status 2 (the other files are still predicted).",
    )
    predict.add_argument("model", metavar="MODEL", help="model file")
    predict.add_argument("images", metavar="IMAGES", nargs="+", help="image files or folders")
    predict.add_argument("--format", choices=("text", "csv", "json"), default="text",
                         help="output format (default text: tab-separated)")
    _add_verbosity(predict)
    predict.set_defaults(handler=_predict)

    search = commands.add_parser(
        "search", help="grid-search pipeline parameters with cross-validation",
        description="GridSearchCV over make_cnn_pipeline() with the grid of a JSON or TOML file "
        '(e.g. {"cnn__learning_rate": [0.001, 0.0003], "cnn__conv_filters": [[16, 32], [32, 64]]}, '
        "or a list of such dicts; in TOML a table or [[grid]] tables). Writes DIR/cv_results.csv "
        "and DIR/best_model.skbcnn.",
    )
    search.add_argument("data", metavar="DATA", help=_DATA_HELP)
    search.add_argument("--grid", required=True, metavar="FILE", help="parameter grid (.json or .toml)")
    search.add_argument("--cv", type=int, default=3, help="stratified folds (default 3)")
    search.add_argument("--scoring", default="accuracy,balanced_accuracy,roc_auc_ovr",
                        help="comma-separated scikit-learn scorers (default accuracy,balanced_accuracy,roc_auc_ovr)")
    search.add_argument("--refit", default=None, help="scorer that picks the best model (default: the first)")
    search.add_argument("--n-jobs", type=int, default=1, help="parallel fits (default 1)")
    search.add_argument("--out", metavar="DIR", default="search", help="output folder (default ./search)")
    _add_data_options(search)
    _add_training_options(search)
    _add_verbosity(search)
    search.set_defaults(handler=_search)
    return parser


def main(argv=None):
    """Run the command line; returns the exit code.

    Examples
    --------
    >>> from skbcnn.cli import main
    >>> main(["predict", "no-such-model.skbcnn", "scan.png"])  # error on stderr, status 2
    2
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except _USER_ERRORS as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"skbcnn {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"skbcnn {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
