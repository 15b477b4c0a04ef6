"""The ``skbcnn`` command line: ``demo``, ``train``, ``evaluate``, ``predict``,
``search`` and ``info``.

This module owns the argument parser, the command handlers and what they
print. Data are loaded only through :func:`skbcnn.datasets.load_dataset` and
:func:`skbcnn.datasets.load_images`; helpers that need no TensorFlow (quiet
start-up, ``--param`` values, search progress) live in ``_cli_support``.

Results go to stdout; progress (one line per epoch, or per fold of a search),
warnings and errors to stderr. Errors print ``skbcnn <command>: error:
<message>`` and exit with status 2. TensorFlow is imported only once a
command runs (not by ``--help``), without its C++ start-up lines.
"""

import argparse
import contextlib
import json
import pickle
import sys
import time
from pathlib import Path

__all__ = ["main", "build_parser", "parse_param"]

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
def _load(args, **overrides):
    """``load_dataset(DATA)`` with the command-line data options (``overrides`` win)."""
    from .datasets import load_dataset

    kwargs = dict(
        image_size=getattr(args, "image_size", None),
        classes=_split_list(args.classes) if getattr(args, "classes", None) else None,
        color=getattr(args, "color", "grey"),
        split=args.split,
        n_samples=args.n_samples,
        random_state=args.random_state,
        on_error=getattr(args, "on_error", "raise"),
    )
    kwargs.update(overrides)
    return load_dataset(args.data, **kwargs)


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


def _resolve_recipe(args):
    """The recipe of --recipe, or for ``auto`` the one recommended for the
    images DATA will give (known before they are loaded)."""
    from .datasets import native_image_size
    from .pipeline import recipe_image_size, recommended_recipe

    if args.recipe != "auto":
        return args.recipe
    if args.backbone:
        return "pretrained"
    size = args.image_size
    if size is None:
        size = native_image_size(args.data, split=args.split)
    if size is None:  # folders (no size of their own) load at the size "auto" gives image files
        size = recipe_image_size("auto")
    # the function make_cnn_pipeline().fit uses on the loaded images
    return recommended_recipe((size, size))


def _recipe_image_size(args, recipe):
    """--image-size, or the recipe's size for image folders (None: the loader's default)."""
    from .pipeline import recipe_image_size

    if args.image_size is not None:
        return args.image_size
    source = str(args.data).lower()
    if source == "synthetic" or source.endswith(".npz"):
        return None  # their own size (load_dataset says why an .npz file is unreadable)
    return recipe_image_size(recipe)


def _groups(args, data):
    """Group ids for --groups: near-duplicate groups, or a file-name pattern's match."""
    import numpy as np

    from .datasets import BREAKHIS_PATIENT, file_group, group_near_duplicates

    if not args.groups:
        return None
    if args.groups == "near-duplicates":
        groups = group_near_duplicates(data.images)
    else:
        pattern = BREAKHIS_PATIENT if args.groups == "breakhis" else args.groups
        groups = []
        for name in data.filenames:
            try:
                group = file_group(pattern, str(name))  # the library's one rule, time-limited
            except ValueError as exc:
                raise CLIError(f"--groups: {exc}") from None
            if group is None:
                raise CLIError(f"--groups: the file name {Path(str(name)).name!r} does not match {pattern!r}.")
            groups.append(group)
        groups = np.asarray(groups)
    _log(args, f"Groups ({args.groups}): {len(np.unique(groups))} for {len(groups)} images; "
               + ("the confidence intervals resample whole groups." if args.command == "evaluate" else
                  "a validation hold-out (where the recipe has one) and CV folds keep each group on one side."))
    return groups


def _pipeline(args, **extra):
    """``make_cnn_pipeline`` with the command-line settings; checks --param keys."""
    from . import make_cnn_pipeline

    args.resolved_recipe = recipe = _resolve_recipe(args)
    if args.groups not in (None, "near-duplicates", "breakhis"):
        from .datasets import file_group

        try:
            file_group(args.groups, "")  # compiles the pattern: a bad one fails before loading
        except ValueError as exc:
            raise CLIError(f"--groups {args.groups!r} is not a valid regular expression ({exc.__cause__}).") from None
    params = dict(
        cnn__random_state=args.random_state,
        augment__random_state=args.random_state,
        cnn__verbose=2 if getattr(args, "verbose", False) else 0,
    )
    if args.epochs is not None:
        params["cnn__epochs"] = args.epochs
    if args.backbone:
        from .models import BACKBONES

        if args.backbone not in BACKBONES:
            raise CLIError(f"--backbone must be one of {', '.join(sorted(BACKBONES))}; got {args.backbone!r}.")
        params["cnn__backbone"] = args.backbone
    params.update(extra)
    given = {}
    for text in args.param or []:
        key, value = parse_param(text)
        given[key] = (text, value)
    params.update({key: value for key, (_, value) in given.items()})
    pipeline = make_cnn_pipeline(recipe)
    unknown = [k for k in params if not _is_valid_param(pipeline, k)]
    if unknown:
        from ._validation import closest_name

        steps = ", ".join(name for name, _ in pipeline.steps)
        raise CLIError(
            f"unknown pipeline parameter(s) {unknown};{closest_name(unknown[0], list(pipeline.get_params()))} "
            f"Parameters are <step>__<name> with steps {steps} (e.g. cnn__learning_rate, augment__rotation)."
        )
    # each --param read in its parameter's type ("16,32" -> (16, 32)) and checked
    # on its own, so that the error names it; then all together, before any data is loaded
    for key, (text, value) in given.items():
        params[key] = _checked_value(key, value, f"--param {text}")
    try:
        pipeline.set_params(**params)
        _check_pipeline_params(pipeline)
    except (ValueError, TypeError) as exc:
        raise CLIError(f"invalid pipeline parameters: {exc}") from None
    return pipeline


def _log_recipe(args, pipeline):
    from .pipeline import RECIPE_SUMMARIES  # one wording for Python and the command line

    recipe = args.resolved_recipe
    backbone = pipeline.get_params()["cnn__backbone"]
    _log(args, f"Recipe: {recipe} ({RECIPE_SUMMARIES[recipe]}"
               + (f"; backbone {backbone}" if backbone and backbone != "efficientnet_lite0" else "") + ").")


def _checked_value(key, value, where):
    """``value`` coerced to the type of ``key``'s default and checked by its step."""
    from . import make_cnn_pipeline
    from ._cli_support import coerce_param

    trial = make_cnn_pipeline()
    value = coerce_param(trial.get_params(deep=True).get(key), value)
    try:
        trial.set_params(**{key: value})
        _check_pipeline_params(trial, [key])
    except (ValueError, TypeError) as exc:
        raise CLIError(f"{where}: {exc}") from None
    return value


def _check_pipeline_params(pipeline, keys=None):
    from ._cli_support import check_pipeline_params

    check_pipeline_params(pipeline, keys)


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

    from .persistence import UntrustedFileError, load

    path = Path(path)
    if path.exists() and not path.is_file():
        raise CLIError(f"model file {path} is not a regular file (a folder, named pipe or device); "
                       "give the path of a .skbcnn file.")
    if not path.is_file():
        raise FileNotFoundError(f"model file {path} does not exist.")
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        try:
            model = load(path)  # the pickle-free format only: opening a model file never runs code
        except UntrustedFileError:
            raise CLIError(
                f"{path} holds a pickle, which can run code when it is loaded; the command line reads "
                "only the pickle-free format. If you trust the file's author, convert it once in Python: "
                f"skbcnn.save(skbcnn.load({str(path)!r}, allow_pickle=True), 'model.skbcnn')."
            ) from None
    if not hasattr(model, "predict_proba") or not hasattr(model, "classes_"):
        raise CLIError(f"{path} does not hold a fitted classifier with predict_proba.")
    return _silence(model)


def _silence(model):
    """No Keras progress bars at prediction time: they would mix with the results on stdout."""
    from ._steps import final_step

    final = final_step(model)
    if "verbose" in getattr(final, "get_params", dict)():
        final.set_params(verbose=0)
    return model


def _model_image_shape(model):
    """``(H, W, C)`` the model expects, or None when any size is accepted."""
    from ._steps import split_final_step

    # make_cnn_pipeline's pipeline records the size and colour it was
    # trained at; otherwise a first step (a Resizer) fixes the size before
    # the classifier's own input shape does.
    size = getattr(model, "image_size_", None)
    if size is not None:
        return (*size, 3) if getattr(model, "color_", "grey") == "rgb" else tuple(size)
    preprocessing, final = split_final_step(model)
    candidates = [] if preprocessing is None else [preprocessing[0]]
    candidates.append(final)
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


def _model_info(model, path=None):
    """What ``skbcnn info`` reports about a fitted model, as plain JSON values."""
    from ._steps import final_step
    from ._json import jsonable
    from .report import build_provenance, model_card

    provenance = build_provenance(model, model_file=path)
    final = final_step(model)
    shape = _model_image_shape(model)
    history = getattr(final, "history_", None) or {}
    summary = None
    if history.get("loss"):
        kept = _kept_epoch(final)
        summary = {"epochs_run": len(history["loss"]), "max_epochs": getattr(final, "epochs", None),
                   "kept_epoch": kept, "kept": {k: v[kept - 1] for k, v in history.items() if len(v) >= kept},
                   "final": {k: v[-1] for k, v in history.items() if v}}
        if history.get("val_loss"):
            best = min(range(len(history["val_loss"])), key=history["val_loss"].__getitem__)
            summary.update(best_val_loss=history["val_loss"][best], best_epoch=best + 1)
    parameters = provenance["model_parameters"] or {}
    recipe = (provenance["training"] or {}).get("recipe") or getattr(model, "recipe_", None)
    try:
        from . import make_cnn_pipeline
        from .pipeline import RECIPES

        recipe = recipe if recipe in RECIPES else None
        reference = make_cnn_pipeline(recipe or "pretrained")
        step_names = [name for name, _ in getattr(model, "steps", None) or []]
        same_steps = step_names and step_names == [name for name, _ in reference.steps]
        defaults = {k: jsonable(v) for k, v in reference.get_params(deep=True).items()} if same_steps else {}
    except Exception:  # noqa: BLE001 - only used to shorten the listing
        defaults = {}
    # fixed_params only says which of them were set by hand: the values below show it
    changed = {k: v for k, v in parameters.items()
               if k != "fixed_params" and (k not in defaults or defaults[k] != v)}
    return {
        "model_file": None if path is None else str(path),
        "file_size_bytes": Path(path).stat().st_size if path is not None and Path(path).is_file() else None,
        "model_file_sha256": provenance["model_file_sha256"],
        "model": provenance["model"],
        "classes": [c.item() if hasattr(c, "item") else c for c in model.classes_],
        "image_shape": None if shape is None else [int(s) for s in shape] + ([1] if len(shape) == 2 else []),
        "training": provenance["training"],
        "recipe": recipe,
        "history": summary,
        "parameters_compared_to": (f"make_cnn_pipeline({recipe!r})" if recipe else "make_cnn_pipeline()")
        if defaults else None,
        "changed_parameters": changed,
        "parameters": parameters,
        "model_card": model_card(model),
    }


def _metric_order(history):
    """loss, the other training metrics, then their validation counterparts (no learning rate)."""
    train = sorted((k for k in history if not k.startswith("val_") and k != "learning_rate"),
                   key=lambda k: (k != "loss", k))
    return train + [f"val_{k}" for k in train if f"val_{k}" in history]


def _model_summary(model, path=None, info=None):
    """``_model_info`` as aligned text lines."""
    info = info or _model_info(model, path)
    lines = []

    def add(label, value):
        if value not in (None, ""):
            lines.append(f"{label:<16} {value}")

    size = info["file_size_bytes"]
    sha = info["model_file_sha256"]
    add("model file", None if info["model_file"] is None else info["model_file"] + (
        f" ({size / 1e6:.1f} MB" if size and size >= 1e6 else f" ({(size or 0) / 1e3:.1f} kB")
        + (f", SHA-256 {sha[:16]}...)" if sha else ")"))
    add("model", info["model"])
    add("classes", ", ".join(str(c) for c in info["classes"]))
    shape = info["image_shape"]
    if shape:
        channels = shape[2] if len(shape) > 2 else 1
        add("image size", f"{shape[0]} x {shape[1]} px, " + ("RGB" if channels == 3 else "grey")
            + f" ({channels} channel{'s' if channels != 1 else ''})")
    training = info["training"]
    if training:
        counts = ", ".join(f"{k} {v}" for k, v in _as_dict(training.get("class_counts")).items())
        add("trained on", f"{training.get('data_source')}: {training.get('n_images')} images"
            + (f" ({counts})" if counts else "") + (f", {training['created']}" if training.get("created") else ""))
        versions = _as_dict(training.get("versions"))
        add("groups", training.get("groups"))
        add("trained with", ", ".join(f"{k} {v}" for k, v in versions.items() if v))
        add("command", training.get("command"))
    else:
        add("trained on", "not recorded in the model file")
    add("recipe", info.get("recipe"))
    history = info["history"]
    if history:
        final = history["final"]
        kept = history["kept"]
        text = (f"{history['epochs_run']} epochs"
                + (f" (at most {history['max_epochs']})" if history.get("max_epochs") else "")
                + (f", {training['fit_time_s']} s" if training and training.get("fit_time_s") is not None else "")
                + f"; weights of epoch {history['kept_epoch']}: "
                + ", ".join(f"{k} {kept[k]:.3f}" for k in _metric_order(kept)))
        add("training", text)
    card = info.get("model_card")
    if card:  # the model card: what the model is for and what it cannot tell
        add("intended use", card["intended_use"])
        add("protocol", " ".join(card["evaluation_protocol"]))
        for label, items in (("limitations", card["limitations"]), ("cite", card["citations"])):
            lines += [f"{label if i == 0 else '':<16} - {text}" for i, text in enumerate(items)]
    changed = info["changed_parameters"]
    if info["parameters_compared_to"]:
        lines.append(f"parameters       {len(changed)} differ from {info['parameters_compared_to']}"
                     + (":" if changed else ""))
    else:
        lines.append("parameters:")
    width = max((len(k) for k in changed), default=0)
    lines += [f"  {k:<{width}}  {json.dumps(v)}" for k, v in changed.items()]
    # text from the file (class names, the recorded command) reaches the terminal escaped
    return "\n".join(_printable(line) for line in lines)


def _as_dict(value):
    """``value`` if it is a dict, else an empty one (training records of a file are not trusted)."""
    return value if isinstance(value, dict) else {}


def _printable(text):
    """``text`` with control characters (escape sequences, newlines) shown as escapes."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in str(text))


def _writable_folder(path, where):
    """Refuse ``path`` (a folder to write in, existing or to be created) when it cannot be one; ``where`` names the option."""
    import os

    existing = Path(path)
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise CLIError(f"{where}: {existing} is a file, not a folder; choose another place.")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise CLIError(f"{where}: cannot write in {existing} (permission denied); choose another place.")


def _check_out_file(text, force, option="--out"):
    """``--out MODEL`` checked before any data is loaded: a file name, in a writable place, new unless --force."""
    path = Path(text)
    if str(text).endswith(("/", "\\")) or path.is_dir():
        raise CLIError(f"{option} {text} is a folder; give the model file's name, e.g. "
                       f"{path / 'model.skbcnn'}.")
    _writable_folder(path.parent, f"{option} {text}")
    if path.exists() and not path.is_file():  # a named pipe, socket or device is never replaced
        raise CLIError(f"{option} {text} is not a regular file (a named pipe, socket or device); "
                       "choose another name.")
    if path.exists() and not force:
        raise CLIError(f"{option} {text} already exists; pass --force to overwrite it, or choose another name.")


def _check_out_folder(text, force, written, option="--out"):
    """``--out DIR`` checked before anything is loaded: a folder, writable, without ``written`` files unless --force."""
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise CLIError(f"{option} {text} is a file; give a folder for the report (it is created if needed).")
    _writable_folder(path, f"{option} {text}")
    present = [name for name in written if (path / name).exists()]
    if present and not force:
        raise CLIError(f"{option} {text} already holds {', '.join(present)}; pass --force to overwrite them, "
                       "or choose another folder.")


def _save_model(estimator, path):
    from .persistence import save

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return save(estimator, path, format="safe")  # never a pickle (see docs: sharing models safely)


# -------------------------------------------------------------- commands
def _demo(args):
    import numpy as np
    from sklearn.model_selection import train_test_split

    from . import make_cnn_pipeline
    from .datasets import make_synthetic_ultrasound
    from .evaluation import evaluate, format_report
    from .pipeline import RECIPE_SUMMARIES, recommended_recipe

    _log(args, f"Generating {args.n_samples} synthetic ultrasound images ({args.image_size} px)...")
    data = make_synthetic_ultrasound(
        args.n_samples, image_size=args.image_size, random_state=args.random_state
    )
    labels = data.target_names[data.target]
    train, test = train_test_split(
        np.arange(len(labels)), test_size=0.25, stratify=data.target, random_state=args.random_state,
    )
    recipe = recommended_recipe(data.images.shape[1:])
    pipeline = make_cnn_pipeline(
        recipe,
        cnn__random_state=args.random_state,
        cnn__verbose=2 if args.verbose else 0,
        augment__random_state=args.random_state,
        **({} if args.epochs is None else {"cnn__epochs": args.epochs}),
    )
    args.resolved_recipe = recipe
    _log(args, f"Recipe: {recipe} ({RECIPE_SUMMARIES[recipe]}).")
    _log(args, f"Training the default pipeline on {len(train)} images ({_schedule(pipeline)})...")
    seconds = _fit_with_progress(args, pipeline, data.images[train], labels[train])
    _log(args, _trained_message(pipeline, seconds))
    source = (f"synthetic (skbcnn demo: {args.n_samples} images of {args.image_size} px, "
              f"random_state={args.random_state}), training three quarters")
    pipeline.training_info_ = _training_info(args, source, "synthetic", labels[train],
                                             data.images.shape[1:], pipeline, seconds)
    _silence(pipeline)
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = evaluate(pipeline, data.images[test], labels[test])
        print(f"Held-out evaluation ({len(test)} images, classes: {', '.join(np.unique(labels[test]))})")
        print(format_report(report))
        if args.out:
            from .report import write_report

            paths = write_report(pipeline, data.images[test], labels[test], args.out, masks=data.masks[test],
                                 title="skbcnn demo: synthetic ultrasound, held-out images",
                                 provenance={"data_source": source.replace("training three quarters",
                                                                           "held-out quarter"),
                                             "command": args.command_line})
            _log(args, f"Report written to {paths['html']}")
    _print_warnings(args, caught)
    return 0


def _schedule(pipeline):
    """How long the pipeline trains, as the progress lines say it."""
    params = pipeline.get_params()
    if params["cnn__early_stopping"] and params["cnn__validation_split"] > 0:
        return f"up to {params['cnn__epochs']} epochs, early stopping"
    return f"{params['cnn__epochs']} epochs on every image, no early stopping"


def _train(args):
    _check_out_file(args.out, args.force)  # before minutes of training, not after
    pipeline = _pipeline(args)  # parameters are checked before the images are loaded
    data, groups = _load_training_data(args, pipeline)
    _log(args, f"Training on {len(data.images)} images ({_schedule(pipeline)})...")
    seconds = _fit_with_progress(args, pipeline, data.images, data.labels,
                                 **({} if groups is None else {"cnn__groups": groups}))
    _log(args, _trained_message(pipeline, seconds))
    pipeline.training_info_ = _training_info(args, _source_label(args, data), data.kind, data.labels,
                                             data.images.shape[1:], pipeline, seconds)
    path = _save_model(_silence(pipeline), args.out)
    _log(args, f"Model saved to {path}")
    return 0


def _load_training_data(args, pipeline):
    """DATA at the recipe's size, without masks (training does not use them): (data, groups)."""
    data = _load(args, with_masks=False, image_size=_recipe_image_size(args, args.resolved_recipe))
    _log(args, f"Loaded {_describe(data)} from {args.data}.")
    _log_recipe(args, pipeline)
    return data, _groups(args, data)


def _source_label(args, data):
    """DATA as the model's provenance names it (with the split of a MedMNIST file)."""
    return str(args.data) + (f" (split {args.split})" if data.kind == "medmnist" else "")


def _fit_with_progress(args, pipeline, X, y, **fit_params):
    """Fit; one status line per epoch on stderr unless -q (-v adds Keras' own lines). Seconds."""
    from ._progress import epoch_progress

    start = time.perf_counter()
    progress = contextlib.nullcontext() if args.quiet else epoch_progress(pipeline)
    with progress, contextlib.redirect_stdout(sys.stderr):  # Keras' epoch lines are progress
        pipeline.fit(X, y, **fit_params)
    return time.perf_counter() - start


def _kept_epoch(cnn):
    """The epoch whose weights ``cnn`` holds (models saved before kept_epoch_: the best val_loss, else the last)."""
    kept = getattr(cnn, "kept_epoch_", None)
    if kept is not None:
        return int(kept)
    history = getattr(cnn, "history_", None) or {}
    if history.get("val_loss") and getattr(cnn, "early_stopping", False):
        return 1 + min(range(len(history["val_loss"])), key=history["val_loss"].__getitem__)
    return len(history.get("loss", []))


def _kept_scores(cnn):
    """``{metric: value}`` of the kept epoch, loss first, then the other metrics and their val_ ones."""
    history, kept = cnn.history_, _kept_epoch(cnn)
    scores = {k: v[kept - 1] for k, v in history.items() if len(v) >= kept}
    return {k: float(scores[k]) for k in _metric_order(scores)}


def _trained_message(pipeline, seconds):
    from ._cli_support import format_duration

    cnn = pipeline[-1]
    scores = _kept_scores(cnn)
    return (f"Trained in {format_duration(seconds)} ({len(cnn.history_['loss'])} epochs; kept the weights of "
            f"epoch {_kept_epoch(cnn)}: " + ", ".join(f"{k} {v:.3f}" for k, v in scores.items()) + ").")


def _training_info(args, source, kind, labels, image_shape, pipeline, seconds):
    """What ``skbcnn info`` and the reports say about how a model was trained."""
    from datetime import datetime, timezone

    import numpy as np

    from .report import build_provenance

    names, counts = np.unique(np.asarray(labels), return_counts=True)
    history = pipeline[-1].history_
    return {
        "data_source": source,
        "data_kind": kind,
        "n_images": int(len(labels)),
        "class_counts": {str(n): int(c) for n, c in zip(names, counts)},
        "image_shape": [int(s) for s in image_shape],
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "fit_time_s": round(float(seconds), 1),
        "epochs_run": len(history.get("loss", [])),
        "kept_epoch": _kept_epoch(pipeline[-1]),
        "kept_scores": _kept_scores(pipeline[-1]),
        "recipe": getattr(pipeline, "recipe_", None) or getattr(args, "resolved_recipe", None),
        "groups": getattr(args, "groups", None),
        "command": getattr(args, "command_line", None),
        "versions": build_provenance()["versions"],
    }


def _evaluate(args):
    import warnings

    from ._validation import check_class
    from .evaluation import format_report

    if args.out:
        _check_out_folder(args.out, args.force, _REPORT_FILES)
    model = _load_model(args.model)
    if args.verbose:
        _log(args, _model_summary(model, args.model))
    # options naming a class or a resample count are checked before any image is loaded
    if args.positive_class is not None:
        args.positive_class = check_class(args.positive_class, model.classes_, "--positive-class")
    if args.n_resamples < 0:
        raise CLIError(f"--n-resamples must be 0 (no intervals) or more; got {args.n_resamples}.")
    _check_groups_pattern(args)
    options = _shape_options(model)
    if getattr(args, "color", None) is None:
        args.color = options.get("color", "grey")
    data = _load(args, image_size=options.get("image_size"))
    _log(args, f"Evaluating on {_describe(data)}...")
    args.group_ids = _groups(args, data)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _evaluate_loaded(args, model, data, format_report)
    _print_warnings(args, caught)
    return 0


# the files of write_report that --force allows evaluate to overwrite
_REPORT_FILES = ("metrics.json", "metrics.csv", "predictions.csv", "report.html")


def _check_groups_pattern(args):
    """--groups as a regular expression must compile (checked before loading)."""
    import re

    if args.groups not in (None, "near-duplicates", "breakhis"):
        try:
            re.compile(args.groups)
        except re.error as exc:
            raise CLIError(f"--groups {args.groups!r} is not a valid regular expression ({exc}).") from None


def _print_warnings(args, caught):
    """One ``skbcnn <command>: warning: ...`` line per distinct user warning (shown with -q too)."""
    seen = set()
    for item in caught:
        message = str(item.message)
        if issubclass(item.category, UserWarning) and message not in seen:
            seen.add(message)
            print(f"skbcnn {args.command}: warning: {message}", file=sys.stderr, flush=True)


def _data_source(args, data):
    if data.kind == "synthetic":
        return f"synthetic (random_state={args.random_state})"
    return _source_label(args, data)


def _evaluate_loaded(args, model, data, format_report):
    if args.out:
        from .report import write_report

        provenance = {"model_file": str(args.model), "data_source": _data_source(args, data),
                      "command": getattr(args, "command_line", None)}
        paths = write_report(model, data.images, data.labels, args.out, positive_class=args.positive_class,
                             masks=data.masks, provenance=provenance, groups=args.group_ids,
                             filenames=data.filenames, n_resamples=args.n_resamples)
        report = json.loads(paths["metrics_json"].read_text(encoding="utf-8"))
        report = {k: (float("nan") if v is None else v) for k, v in report.items()}
        print(format_report(report))
        if report.get("grad_cam_hit_rate") is not None:
            print(f"Grad-CAM hit rate   {report['grad_cam_hit_rate']:.3f}  "
                  f"(chance {report['grad_cam_chance']:.3f})")
        _log(args, f"Report written to {paths['html']}")
    else:
        from .evaluation import evaluate

        print(format_report(evaluate(model, data.images, data.labels, positive_class=args.positive_class,
                                     groups=args.group_ids, n_resamples=args.n_resamples)))


def _predict(args):
    import numpy as np

    import warnings

    from .datasets import load_images

    model = _load_model(args.model)
    if args.verbose:
        _log(args, _model_summary(model, args.model))
    # every skipped path is printed below, one line each, in the command's own words
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Skipped .* unreadable file")
        data = load_images(args.images, on_error="skip", **_shape_options(model))
    images, errors = data.images, data.skipped
    skip = args.on_error == "skip"
    for message in errors:
        print(f"skbcnn predict: {'warning: skipped' if skip else 'error:'} {message}", file=sys.stderr)
    if errors and args.on_error == "raise":
        return 2  # nothing predicted
    if len(images):
        classes = [c.item() if hasattr(c, "item") else c for c in model.classes_]
        # reshape: CNNClassifier.predict_proba of one image returns shape (n_classes,)
        proba = np.asarray(model.predict_proba(images)).reshape(len(images), -1)
        bad = int((~np.isfinite(proba).all(axis=1)).sum())
        if bad:
            raise CLIError(f"the model gave non-finite probabilities (NaN or inf) for {bad} of {len(proba)} "
                           "image(s): its weights are damaged or its training diverged; retrain it or use "
                           "another model file.")
        predicted = [classes[i] for i in np.argmax(proba, axis=1)]
        _write_predictions(args.format, data.filenames, predicted, proba, classes)
    elif not errors:
        print("skbcnn predict: error: no images given.", file=sys.stderr)
        return 2
    return 2 if errors and not (skip and len(images)) else 0


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
            probs = " ".join(f"{_printable(k)}={v:.3f}" for k, v in zip(classes, row))
            # one line per image, whatever its name holds (a newline, a terminal escape)
            out.write(f"{_printable(p)}\t{_printable(c)}\t{probs}\n")
    out.flush()


def _read_grid(path):
    path = Path(path)
    if path.exists() and not path.is_file():
        raise CLIError(f"grid file {path} is not a regular file (a folder, named pipe or device); "
                       "give the path of a .json or .toml file.")
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
    import sklearn
    from sklearn.model_selection import GridSearchCV, StratifiedGroupKFold, StratifiedKFold

    from .model_selection import format_cv_results, write_cv_results_csv

    _check_out_folder(args.out, True, ())  # a folder that can be written, before any fit
    grid = _read_grid(args.grid)
    pipeline = _pipeline(args)
    grids = grid if isinstance(grid, list) else [grid]
    for g in grids:
        unknown = [k for k in g if not _is_valid_param(pipeline, k)]
        if unknown:
            raise CLIError(f"unknown parameter(s) {unknown} in grid {args.grid}.")
        for key, values in g.items():  # read like --param ("16,32" -> (16, 32)) and checked now
            g[key] = [_checked_value(key, value, f"grid {args.grid}: {key}={json.dumps(value)}")
                      for value in values]
            clone(pipeline).set_params(**{key: g[key][0]})
    scoring = _split_list(args.scoring)
    from sklearn.metrics import get_scorer_names

    unknown = [name for name in scoring if name not in get_scorer_names()]
    if unknown:  # else GridSearchCV would record NaN scores with a warning
        raise CLIError(f"--scoring: unknown scorer(s) {', '.join(unknown)}; pass scikit-learn scorer names "
                       "such as accuracy, balanced_accuracy, roc_auc_ovr (sklearn.metrics.get_scorer_names()).")
    refit = args.refit or scoring[0]
    if refit not in scoring:
        raise CLIError(f"--refit {refit!r} must be one of the --scoring metrics {scoring}.")
    data, groups = _load_training_data(args, pipeline)
    from sklearn.model_selection import ParameterGrid

    from ._cli_support import SearchProgress, format_duration

    sequential = args.n_jobs in (1, None)
    if not sequential:  # Keras' lines would come from the worker processes, on stdout
        pipeline.set_params(cnn__verbose=0)
    keys = list(dict.fromkeys(k for g in grids for k in g))
    # a list of scorers (even of one): cv_results_ columns are always named after the metrics
    scorer = scoring if args.quiet else SearchProgress(
        scoring, len(ParameterGrid(grid)), args.cv, keys, n_images=len(data.images), sequential=sequential)
    splitter = StratifiedKFold if groups is None else StratifiedGroupKFold
    search = GridSearchCV(
        pipeline, grid, scoring=scorer, refit=refit,
        cv=splitter(args.cv, shuffle=True, random_state=args.random_state),
        n_jobs=args.n_jobs,
        verbose=0 if args.quiet else 1,
    )
    start = time.perf_counter()
    if not args.quiet:
        scorer.start = start
    from ._progress import epoch_progress, remove_progress

    progress = epoch_progress(pipeline, prefix="  ") if args.verbose else contextlib.nullcontext()
    # scikit-learn prints its progress on stdout: keep stdout for the results
    with progress, contextlib.redirect_stdout(sys.stderr):
        if groups is None:
            search.fit(data.images, data.labels)
        else:
            # groups reach the CV splitter and, by metadata routing, each
            # fit's early-stopping hold-out
            with sklearn.config_context(enable_metadata_routing=True):
                pipeline[-1].set_fit_request(groups=True)
                search.fit(data.images, data.labels, groups=groups)
    seconds = time.perf_counter() - start
    _log(args, f"Search finished in {format_duration(seconds)}.")
    best = remove_progress(search.best_estimator_)
    best.training_info_ = _training_info(args, _source_label(args, data), data.kind, data.labels,
                                         data.images.shape[1:], best, search.refit_time_)
    best.training_info_["search"] = {"grid": str(args.grid), "cv": args.cv, "refit": refit,
                                     f"best_mean_test_{refit}": float(search.best_score_)}
    _silence(best)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_cv_results_csv(search, out / "cv_results.csv")
    _save_model(search.best_estimator_, out / "best_model.skbcnn")
    print(format_cv_results(search))
    print(f"best {refit}: {search.best_score_:.4f}")
    print("best parameters: " + json.dumps(search.best_params_, default=str, sort_keys=True))
    _log(args, f"Wrote {out / 'cv_results.csv'} and {out / 'best_model.skbcnn'}")
    return 0


def _info(args):
    model = _load_model(args.model)
    info = _model_info(model, args.model)
    if args.format == "json":
        json.dump(info, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        print(_model_summary(model, info=info))
    return 0


# ---------------------------------------------------------------- parser
_VERBOSE_HELP = {
    "train": "also print Keras' own line per epoch (with the learning rate and step times)",
    "search": "also print a status line and Keras' own line per epoch of every fit",
    "evaluate": "also describe the model (file, classes, image size, how it was trained) on stderr",
    "predict": "also describe the model (file, classes, image size, how it was trained) on stderr",
}
_QUIET_HELP = {
    "train": "no progress: print only warnings and errors",
    "search": "no progress: print only the results, warnings and errors",
    "evaluate": "no status lines: print only the results, warnings and errors",
    "predict": "print only the results, warnings and errors",
}


def _add_verbosity(parser, command):
    group = parser.add_mutually_exclusive_group()
    group.add_argument("-q", "--quiet", action="store_true", help=_QUIET_HELP[command])
    group.add_argument("-v", "--verbose", action="store_true", help=_VERBOSE_HELP[command])


def _add_data_options(parser, *, image_size=True, n_samples=600, random_state=0, split="train",
                      seed_help="seed for data generation, training and CV splits"):
    group = parser.add_argument_group("data")
    if image_size:
        group.add_argument("--image-size", type=int, default=None,
                           help="resize images to this side in pixels (default: 64 for synthetic, "
                                "the file's size for .npz, for folders the recipe's "
                                "(skbcnn.pipeline.RECIPE_IMAGE_SIZES): 224 pretrained, 128 from_scratch)")
        group.add_argument("--color", choices=("grey", "rgb"), default="grey",
                           help="load images as grey (default) or RGB")
    group.add_argument("--classes", default=None, help="comma-separated classes to use (default: all)")
    group.add_argument("--split", default=split, help=f"split of a MedMNIST .npz file (default {split})")
    group.add_argument("--n-samples", type=int, default=n_samples,
                       help=f"images generated for DATA=synthetic (default {n_samples})")
    group.add_argument("--random-state", type=int, default=random_state,
                       help=f"{seed_help} (default {random_state})")
    group.add_argument("--on-error", choices=("raise", "skip"), default="raise",
                       help="unreadable image files (corrupt, oversized, pipes or devices): stop with an "
                            "error (default) or skip them with a warning")


def _add_training_options(parser):
    from .pipeline import RECIPES

    group = parser.add_argument_group("training")
    group.add_argument("--recipe", choices=("auto", *RECIPES), default="auto",
                       help="starting parameters (skbcnn.pipeline.RECIPES): 'auto' (default) picks "
                            "'low_resolution' for images under 64 px, else 'pretrained' (EfficientNet-Lite0 "
                            "fine-tuned; folders loaded at 224 px); 'from_scratch' trains skbcnn's own network")
    # no choices here: the list lives with the networks, and --help must not import TensorFlow
    group.add_argument("--backbone", default=None, metavar="NAME",
                       help="pretrained backbone (implies the pretrained recipe with --recipe auto): a name "
                            "of skbcnn.models.BACKBONES, which says where its weights come from (default "
                            "efficientnet_lite0; an unknown name is refused with the list)")
    group.add_argument("--epochs", type=int, default=None,
                       help="training epochs (default: the recipe's: 15 pretrained, all of them; up to 60 "
                            "low_resolution and 200 from_scratch, with early stopping)")
    group.add_argument("--groups", default=None, metavar="HOW",
                       help="keep groups of images together in the validation hold-out (and CV folds): "
                            "'near-duplicates' (similar images, as in BUSI), 'breakhis' (patient id in "
                            "BreakHis file names) or a regular expression over file names (its named group "
                            "'group', else its first group, else the whole match; at most 1 s per name)")
    group.add_argument("--param", action="append", metavar="KEY=VALUE", default=[],
                       help="pipeline parameter, repeatable: cnn__learning_rate=0.0005, "
                            "cnn__dense_units=[64], augment__rotation=10 (values read as JSON, else as "
                            "text); skbcnn's own network's cnn__conv_filters=[16,32] needs --recipe "
                            "from_scratch or low_resolution (a backbone ignores it)")


def _add_fit_options(parser, command, seed_help):
    """What ``train`` and ``search`` share: data and training options, verbosity."""
    _add_data_options(parser, seed_help=seed_help)
    _add_training_options(parser)
    _add_verbosity(parser, command)


# command: (one line for ``skbcnn --help``, the description of ``skbcnn <command> --help``)
_COMMANDS = {
    "demo": ("train and evaluate the default pipeline on the built-in synthetic data",
             "Generate the built-in synthetic ultrasound data set, train the default pipeline and print "
             "held-out accuracy, balanced accuracy, ROC AUC and the confusion matrix; with --out, also "
             "write a report with figures."),
    "train": ("train the default pipeline on labelled images and save it",
              "Train make_cnn_pipeline() on DATA and save the fitted pipeline with skbcnn.save."),
    "evaluate": ("score a saved model on labelled images and write a report",
                 "Load MODEL, load DATA at the model's image size, print the metrics and, with --out, "
                 "write metrics.json, metrics.csv, figures and report.html to DIR."),
    "predict": ("predict the class of image files",
                "Print one line per image: path, predicted class and the probability of each class. "
                "Folders are searched for image files. Unreadable files are reported on stderr and make "
                "the exit status 2 (the other files are still predicted)."),
    "search": ("grid-search pipeline parameters with cross-validation",
               "GridSearchCV over make_cnn_pipeline() with the grid of a JSON or TOML file "
               '(e.g. {"cnn__learning_rate": [0.0002, 0.0001], "cnn__dropout": [0.2, 0.4]}, '
               "or a list of such dicts; in TOML a table or [[grid]] tables). Search parameters that change "
               "the recipe's network: a pretrained backbone ignores cnn__conv_filters and the other "
               "convolution parameters of skbcnn's own network (use --recipe from_scratch to search "
               "those). Writes DIR/cv_results.csv and DIR/best_model.skbcnn."),
    "info": ("describe a saved model: classes, image size, training, parameters",
             "Print what MODEL is: its file, classes, image size and colour, the data it was trained on "
             "and when, the library versions it was trained with, a summary of its training history and "
             "the parameters that differ from make_cnn_pipeline()."),
}


def _add_command(commands, name, handler, **defaults):
    """The sub-command ``name`` (texts from ``_COMMANDS``), run by ``handler``; the caller adds its arguments."""
    help_line, description = _COMMANDS[name]
    parser = commands.add_parser(name, help=help_line, description=description)
    parser.set_defaults(handler=handler, **defaults)
    return parser


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

    demo = _add_command(commands, "demo", _demo)
    demo.add_argument("--n-samples", type=int, default=600, help="images to generate (default 600)")
    demo.add_argument("--image-size", type=int, default=64, help="image side in pixels (default 64)")
    demo.add_argument("--epochs", type=int, default=None,
                      help="maximum training epochs (default: the recipe's, 15 for the pretrained one)")
    demo.add_argument("--random-state", type=int, default=0, help="seed (default 0)")
    demo.add_argument("--out", metavar="DIR", default=None,
                      help="write an evaluation report (figures, metrics, report.html) to DIR")
    verbosity = demo.add_mutually_exclusive_group()
    verbosity.add_argument("-q", "--quiet", action="store_true", help="no progress: print only the results")
    verbosity.add_argument("-v", "--verbose", action="store_true",
                           help="also print Keras' own line per epoch (with the learning rate and step times)")

    train = _add_command(commands, "train", _train)
    train.add_argument("data", metavar="DATA", help=_DATA_HELP)
    train.add_argument("--out", metavar="MODEL", required=True,
                       help="model file to write (e.g. model.skbcnn); checked before the data are loaded")
    train.add_argument("--force", action="store_true", help="overwrite MODEL if it exists")
    _add_fit_options(train, "train", seed_help="seed for synthetic data, weight initialisation, augmentation "
                                               "and the validation split")

    # color: evaluate loads DATA in the model's colour
    evaluate = _add_command(commands, "evaluate", _evaluate, color=None)
    evaluate.add_argument("model", metavar="MODEL", help="model file written by 'skbcnn train' or skbcnn.save")
    evaluate.add_argument("data", metavar="DATA", help=_DATA_HELP)
    evaluate.add_argument("--out", metavar="DIR", default=None, help="report folder")
    evaluate.add_argument("--force", action="store_true", help="overwrite the report files in DIR")
    evaluate.add_argument("--positive-class", default=None,
                          help="class whose sensitivity/specificity is reported (default: malignant); "
                               "must be a class of the model")
    evaluate.add_argument("--groups", default=None, metavar="HOW",
                          help="resample whole groups for the confidence intervals: 'near-duplicates', "
                               "'breakhis' or a regular expression over file names (as for train); "
                               "default: each image on its own")
    evaluate.add_argument("--n-resamples", type=int, default=1000, metavar="N",
                          help="bootstrap resamples of the 95 %% confidence intervals (default 1000, fixed "
                               "seed; 0: no intervals)")
    _add_data_options(evaluate, image_size=False, n_samples=200, random_state=1, split="test",
                      seed_help="seed of the images generated for DATA=synthetic")
    _add_verbosity(evaluate, "evaluate")

    predict = _add_command(commands, "predict", _predict)
    predict.add_argument("model", metavar="MODEL", help="model file")
    predict.add_argument("images", metavar="IMAGES", nargs="+", help="image files or folders")
    predict.add_argument("--on-error", choices=("raise", "skip"), default=None,
                         help="unreadable image files: 'raise' stops before predicting anything, 'skip' "
                              "warns and predicts the others (exit status 0); by default they are "
                              "reported, the others predicted, and the exit status is 2")
    predict.add_argument("--format", choices=("text", "csv", "json"), default="text",
                         help="output format (default text: tab-separated)")
    _add_verbosity(predict, "predict")

    search = _add_command(commands, "search", _search)
    search.add_argument("data", metavar="DATA", help=_DATA_HELP)
    search.add_argument("--grid", required=True, metavar="FILE", help="parameter grid (.json or .toml)")
    search.add_argument("--cv", type=int, default=3, help="stratified folds (default 3)")
    search.add_argument("--scoring", default="accuracy,balanced_accuracy,roc_auc_ovr",
                        help="comma-separated scikit-learn scorers (default accuracy,balanced_accuracy,roc_auc_ovr)")
    search.add_argument("--refit", default=None, help="scorer that picks the best model (default: the first)")
    search.add_argument("--n-jobs", type=int, default=1, help="parallel fits (default 1)")
    search.add_argument("--out", metavar="DIR", default="search", help="output folder (default ./search)")
    _add_fit_options(search, "search", seed_help="seed for synthetic data, the CV splits, weight "
                                                 "initialisation and augmentation")

    info = _add_command(commands, "info", _info)
    info.add_argument("model", metavar="MODEL", help="model file")
    info.add_argument("--format", choices=("text", "json"), default="text",
                      help="text (default) or JSON with every parameter")
    return parser


def main(argv=None):
    """Run the command line; returns the exit code.

    Examples
    --------
    >>> from skbcnn.cli import main
    >>> main(["predict", "no-such-model.skbcnn", "scan.png"])  # error on stderr, status 2
    2
    """
    import shlex

    from ._cli_support import import_tensorflow_quietly

    parser = build_parser()
    args = parser.parse_args(argv)
    words = sys.argv[1:] if argv is None else [str(a) for a in argv]
    args.command_line = "skbcnn " + " ".join(shlex.quote(w) for w in words)
    # every command loads a CNN: import TensorFlow now, without its C++ start-up lines
    import_tensorflow_quietly()
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
