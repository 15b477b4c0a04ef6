"""The ``skbcnn`` command line."""

import argparse
import sys
import time

__all__ = ["main"]


def _log(args, message):
    if not args.quiet:
        print(message, file=sys.stderr, flush=True)


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
    X_train, X_test, y_train, y_test = train_test_split(
        data.images, data.target_names[data.target], test_size=0.25,
        stratify=data.target, random_state=args.random_state,
    )
    pipeline = make_cnn_pipeline(
        cnn__epochs=args.epochs,
        cnn__random_state=args.random_state,
        cnn__verbose=0 if args.quiet else 2,
        augment__random_state=args.random_state,
    )
    _log(args, f"Training the default pipeline on {len(X_train)} images "
               f"(up to {args.epochs} epochs, early stopping)...")
    start = time.perf_counter()
    pipeline.fit(X_train, y_train)
    _log(args, f"Trained in {time.perf_counter() - start:.1f} s "
               f"({len(pipeline[-1].history_['loss'])} epochs).")
    report = evaluate(pipeline, X_test, y_test)
    print(f"Held-out evaluation ({len(y_test)} images, classes: {', '.join(np.unique(y_test))})")
    print(format_report(report))
    return 0


def build_parser():
    """The argument parser of the ``skbcnn`` command (for docs and tests)."""
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
        "and the confusion matrix.",
    )
    demo.add_argument("--n-samples", type=int, default=600, help="images to generate (default 600)")
    demo.add_argument("--image-size", type=int, default=64, help="image side in pixels (default 64)")
    demo.add_argument("--epochs", type=int, default=30, help="maximum training epochs (default 30)")
    demo.add_argument("--random-state", type=int, default=0, help="seed (default 0)")
    demo.add_argument("-q", "--quiet", action="store_true", help="print only the results")
    demo.set_defaults(handler=_demo)
    return parser


def main(argv=None):
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except (ValueError, FileNotFoundError, KeyError) as exc:
        print(f"skbcnn {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
