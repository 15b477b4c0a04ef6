"""Loading images from disk: every data source the library reads, and how.

This module owns the loaders of real breast image data sets (BUSI, any
one-folder-per-class tree such as BreakHis, MedMNIST ``.npz`` files), the
built-in synthetic set, :func:`load_dataset`, which recognises any of these
sources and calls the right loader (the command line loads data only through
it), :func:`load_images` for unlabelled files to predict, and the decoding of
image files. Resizing and colour conversion are those of
:mod:`skbcnn._imageops`, shared with the transformers.

Every labelled loader returns a :class:`sklearn.utils.Bunch` with ``images``
(uint8, ``(n, H, W)`` grey or ``(n, H, W, 3)`` RGB, all resized to one size),
``target`` (int indices into ``target_names``), ``target_names``,
``filenames`` and ``DESCR``; or ``(images, target)`` with ``return_X_y=True``.
Errors are ``ValueError`` (:class:`ImageReadError` for a file that cannot be
read as an image) or ``FileNotFoundError``, with messages that name the file.

Image files are decoded with Pillow's raster decoders of
:data:`IMAGE_FORMATS` only (never one that calls an external program, such
as EPS). Only regular files are opened (a named pipe or a device named like
an image is skipped or refused, never read). A file whose header announces
more than :data:`MAX_IMAGE_PIXELS` pixels, or sides more than
:data:`MAX_ASPECT_RATIO` apart, is refused *before* its pixels are decoded,
so a decompression bomb cannot allocate gigabytes, and an image much larger
than the requested size is decoded in reduced form. BUSI masks go through
the same checks.

This module does not import TensorFlow.
"""

import glob
import os
import re
import warnings
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed
from sklearn.utils import Bunch

from ._config import get_data_home
from ._files import NotARegularFileError, open_regular_file
from ._imageops import COLORS, check_image_size, convert_color, resize
from ._validation import OneOf, check_param
from .synthetic import make_synthetic_ultrasound

__all__ = [
    "load_dataset",
    "load_image_folder",
    "load_images",
    "load_busi",
    "load_medmnist",
    "native_image_size",
    "group_near_duplicates",
    "file_group",
    "make_synthetic_ultrasound",
    "IMAGE_EXTENSIONS",
    "BREAKHIS_PATIENT",
    "MAX_IMAGE_PIXELS",
    "MAX_ASPECT_RATIO",
    "GROUP_PATTERN_TIMEOUT",
    "IMAGE_FORMATS",
]

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")

#: Pillow decoders image files are opened with, whatever their names. Pillow
#: chooses a decoder by content; the others are left out because some call
#: external programs (EPS runs Ghostscript) or are rarely audited.
IMAGE_FORMATS = ("PNG", "JPEG", "BMP", "TIFF", "GIF")

#: Largest ratio of an image's long side to its short side a loader decodes.
#: A 1 x 4,000,000 PNG is an 8 KB file; no scan is shaped like that.
MAX_ASPECT_RATIO = 100

#: Largest image (width x height) a loader decodes; larger files are refused.
#: Set ``skbcnn.datasets.MAX_IMAGE_PIXELS`` to change it (also for ``n_jobs``).
MAX_IMAGE_PIXELS = 64_000_000

#: Patient id in BreakHis file names, e.g. ``SOB_B_A-14-22549AB-40-001.png``
#: -> ``"14-22549AB"``. Pass ``group_pattern="breakhis"`` to use it.
BREAKHIS_PATIENT = r"^SOB_[BM]_[A-Z]+-(?P<group>\d+-[0-9A-Za-z]+)-\d+-\d+"

# BUSI ground-truth masks sit beside the images: "benign (4)_mask.png",
# "benign (4)_mask_1.png" (several lesions). They are never training images.
_MASK_SUFFIX = re.compile(r"_mask(_\d+)?$")

#: Seconds a group pattern may spend matching one file name (see :func:`file_group`).
GROUP_PATTERN_TIMEOUT = 1.0



class ImageReadError(ValueError):
    """A file in a data folder could not be read as an image."""


# --------------------------------------------------------------- reading
_COLOR = [OneOf(COLORS)]
_ON_ERROR = [OneOf(("raise", "skip"), words="'raise' or 'skip'")]


def _check_extensions(extensions):
    """``extensions`` as a tuple of lower-case file name endings (one string: one ending)."""
    return tuple(e.lower() for e in ([extensions] if isinstance(extensions, str) else extensions))


def _pixels_as_uint8(image):
    """A Pillow image as a uint8 array, grey ``(H, W)`` or RGB ``(H, W, 3)``.

    16-bit and 32-bit integer images are scaled from their 16-bit range,
    float images from [0, 1] (or, when a pixel is above 1, read as 0-255;
    above 255, NaN or infinite: a ``ValueError``); palette and RGBA images
    become RGB (the alpha
    channel is dropped: ultrasound and histology images carry no
    transparency that matters).
    """
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        pixels = np.asarray(image, dtype=np.float64) / 65535.0
        return np.clip(np.rint(pixels * 255), 0, 255).astype(np.uint8)
    if image.mode == "F":
        pixels = np.asarray(image, dtype=np.float64)
        if not np.isfinite(pixels).all():
            raise ValueError("float pixels include NaN or infinity; convert the file to 8-bit first")
        high = pixels.max()
        if high > 255:
            raise ValueError(f"float pixels reach {high:.4g}, beyond both [0, 1] and [0, 255]; "
                             "convert the file to 8-bit first")
        # a float image in [0, 1] is scaled; one with values above 1 is read as 0-255
        scale = 255 if high <= 1 else 1
        return np.clip(np.rint(pixels * scale), 0, 255).astype(np.uint8)
    if image.mode in ("1", "L"):
        return np.asarray(image.convert("L"))
    if image.mode == "LA":
        return np.asarray(image.convert("L"))
    return np.asarray(image.convert("RGB"))


def _in_color_and_size(pixels, color, size):
    """One decoded image in the requested colour and, unless ``size`` is None, size."""
    pixels = convert_color(pixels[np.newaxis], color)[0]
    return pixels if size is None else resize(pixels, size)


def _decode_pixels(path, size=None, max_pixels=None):
    """Decode one image file into uint8 pixels, grey ``(H, W)`` or RGB ``(H, W, 3)``.

    Only regular files are opened (:func:`skbcnn._files.open_regular_file`:
    a named pipe would block forever, a device could be endless), and only
    with the raster decoders of :data:`IMAGE_FORMATS`: Pillow picks a
    decoder by content, not name, and some of its others call external
    programs (EPS runs Ghostscript). The size announced in the header is
    checked against ``max_pixels`` (default :data:`MAX_IMAGE_PIXELS`) and
    :data:`MAX_ASPECT_RATIO` before any pixel is decoded. When ``size``
    (height, width) is much smaller than the image, it is decoded in
    reduced form (JPEG: DCT scaling with ``draft``; others: ``reduce``, a
    box filter, by its own factor on each axis) to about four times
    ``size``, which the anti-aliased resize then brings to ``size``: a
    large image costs little more time and memory than its file's pixels.
    Every failure becomes an :class:`ImageReadError` naming the file.
    """
    from PIL import Image, UnidentifiedImageError

    limit = MAX_IMAGE_PIXELS if max_pixels is None else max_pixels
    too_large = (
        f"{path}: image is larger than the limit of {limit} pixels "
        "(skbcnn.datasets.MAX_IMAGE_PIXELS); refusing to decode it (possible decompression bomb)."
    )
    try:
        file = open_regular_file(path)
    except NotARegularFileError as exc:
        raise ImageReadError(str(exc)) from None
    except OSError as exc:
        raise ImageReadError(f"{path}: cannot open the file ({exc.strerror}).") from None
    try:
        with file, warnings.catch_warnings():
            # Pillow warns above its own limit; ours is lower and refuses below.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(file, formats=IMAGE_FORMATS)
            # Only the header has been read so far: check the size before decoding.
            width, height = image.size
            if width * height > limit:
                raise ImageReadError(f"{too_large} It announces {width}x{height} pixels.")
            if width == 0 or height == 0:
                raise ImageReadError(f"{path}: image has zero size ({width}x{height}).")
            if max(width, height) > MAX_ASPECT_RATIO * min(width, height):
                raise ImageReadError(
                    f"{path}: image of {width}x{height} pixels is more than {MAX_ASPECT_RATIO} times "
                    "longer than wide (skbcnn.datasets.MAX_ASPECT_RATIO); refusing to decode it "
                    "(not a scan; crop it first if it is one)."
                )
            factors = (1, 1) if size is None else _reduction(image.size, size)
            if max(factors) >= 2:
                image.draft(image.mode, (4 * size[1], 4 * size[0]))  # JPEG only; a no-op otherwise
            image.load()
            factors = (1, 1) if size is None else _reduction(image.size, size)
            if max(factors) >= 2:
                # modes reduce() does not take; "I" keeps the 16-bit values (same scaling)
                converted = {"1": "L", "P": "RGB", "I;16": "I", "I;16B": "I", "I;16L": "I"}
                if image.mode in converted:
                    image = image.convert(converted[image.mode])
                image = image.reduce(factors)
            pixels = _pixels_as_uint8(image)
    except ImageReadError:
        raise
    except Image.DecompressionBombError:  # Pillow's own, stricter check in open()
        raise ImageReadError(too_large) from None
    except UnidentifiedImageError:
        raise ImageReadError(f"{path}: not an image file Pillow can read.") from None
    except ValueError as exc:
        raise ImageReadError(f"{path}: corrupt, truncated or unusable image ({exc}).") from None
    except (OSError, SyntaxError) as exc:
        raise ImageReadError(f"{path}: corrupt or truncated image ({exc}).") from None
    except Exception as exc:  # noqa: BLE001 - a decoder's own bug on a crafted file is still one bad file
        raise ImageReadError(f"{path}: cannot decode the image ({type(exc).__name__}: {exc}).") from None
    return pixels


def _reduction(image_size, size):
    """Integer factors (x, y) that shrink a (width, height) image to no less than 4x ``size``.

    One factor per axis: a long thin image is shrunk along its length, so
    the anti-aliased resize after it never smooths with a huge kernel.
    """
    return max(1, image_size[0] // size[1] // 4), max(1, image_size[1] // size[0] // 4)


def _read_image(path, size, color, max_pixels=None):
    """Decode one file at ``size`` and ``color``; every failure becomes an :class:`ImageReadError`."""
    return _in_color_and_size(_decode_pixels(path, size, max_pixels), color, size)


def _decode_all(paths, size, color, *, n_jobs, verbose):
    """Decode files in parallel, going on past failures: (images, kept indices, errors)."""

    limit = MAX_IMAGE_PIXELS  # read here: joblib's worker processes see the module's default

    def read_or_error(path):
        if isinstance(path, ImageReadError):  # refused while listing (a link leading outside)
            return path
        try:
            return _read_image(path, size, color, limit)
        except ImageReadError as exc:
            return exc

    results = Parallel(n_jobs=n_jobs, verbose=10 if verbose else 0, batch_size="auto")(
        delayed(read_or_error)(p) for p in paths
    )
    kept = [i for i, r in enumerate(results) if not isinstance(r, ImageReadError)]
    errors = [r for r in results if isinstance(r, ImageReadError)]
    return [results[i] for i in kept], kept, errors


def _handle_unreadable(errors, on_error, stacklevel=4):
    """Raise the first of ``errors`` (``on_error="raise"``) or warn about them all.

    ``stacklevel`` points the warning at the code that called the public loader.
    """
    if errors and on_error == "raise":
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ImageReadError(
            f"{errors[0]}{more}. Remove the file(s) or pass on_error='skip' to leave them out."
        )
    if errors:
        warnings.warn(
            f"Skipped {len(errors)} unreadable file(s): " + "; ".join(str(e) for e in errors[:5]),
            UserWarning,
            stacklevel=stacklevel,
        )


def _read_images(paths, size, color, *, on_error, n_jobs, verbose):
    """Decode files in parallel; returns the stacked images, kept indices and skip messages."""
    images, kept, errors = _decode_all(paths, size, color, n_jobs=n_jobs, verbose=verbose)
    _handle_unreadable(errors, on_error)
    if not images:
        raise ValueError("None of the image files could be read.")
    shapes = {im.shape for im in images}
    if len(shapes) > 1:
        raise ValueError(
            f"Images have different sizes {sorted(shapes)[:4]}; pass image_size to resize "
            "them to a common size."
        )
    return np.stack(images), np.asarray(kept, dtype=int), [str(e) for e in errors]


# ---------------------------------------------------------- file listing
def _is_image_file(name, extensions):
    return not name.startswith(".") and name.lower().endswith(extensions)


def _outside(path, root):
    """Where ``path`` leads (links resolved) when that is outside ``root``; else None."""
    real, top = os.path.realpath(path), os.path.realpath(root)
    return real if os.path.commonpath([real, top]) != top else None


def _list_class_files(folder, extensions, root=None):
    """All image files under ``folder`` (recursively), masks left out.

    Symbolic links to folders are not followed, so a link loop cannot make
    the walk endless; unreadable sub-folders raise instead of vanishing. A
    file that is a link leading outside ``root`` (default: ``folder``) is
    listed as an :class:`ImageReadError` in its place, never as a path:
    skbcnn reads no file outside the folder it was given.
    """

    def on_walk_error(error):
        raise PermissionError(f"Cannot list folder {error.filename}: {error.strerror}.")

    root = folder if root is None else root
    files = []
    for walked, dirs, names in os.walk(folder, onerror=on_walk_error, followlinks=False):
        dirs.sort()
        for name in sorted(names):
            path = Path(walked) / name
            if _is_image_file(name, extensions) and not _MASK_SUFFIX.search(path.stem):
                target = _outside(path, root)
                files.append(path if target is None else ImageReadError(
                    f"{path}: a link to {target}, outside the data folder {root}; not read (skbcnn "
                    "reads no file outside the folder it is given)."
                ))
    return files


def file_group(pattern, filename):
    """Group id of one file (e.g. its patient) from a regular expression over its name.

    The one rule for group patterns, used by :func:`load_image_folder`
    (``group_pattern``) and the command line (``--groups``): the pattern is
    searched in the file's name (not its folders); the group id is its named
    group ``group``, else its first group, else the whole match.

    Matching is bounded in time: a pattern that backtracks catastrophically
    (``^(a|aa)+$`` on a long name) stops after
    :data:`GROUP_PATTERN_TIMEOUT` seconds with an error instead of running
    for hours. Patterns are matched with the `regex
    <https://pypi.org/project/regex/>`_ module, whose syntax is that of
    Python's :mod:`re` (``(?P<group>...)`` included) and which has a time
    limit.

    Parameters
    ----------
    pattern : str
        A regular expression, or ``"breakhis"`` for :data:`BREAKHIS_PATIENT`.
    filename : str or path-like
        A file name or path (only the last component is searched).

    Returns
    -------
    group : str or None
        The group id, or None when the pattern does not match the name.

    Raises
    ------
    ValueError
        If ``pattern`` is not a valid regular expression, or matching one
        name takes longer than :data:`GROUP_PATTERN_TIMEOUT` seconds.

    Examples
    --------
    >>> from skbcnn.datasets import file_group
    >>> file_group("breakhis", "SOB_B_A-14-22549AB-40-001.png")
    '14-22549AB'
    >>> file_group(r"patient(\\d+)", "scans/patient12_left.png"), file_group("^x", "a.png")
    ('12', None)
    """
    import regex

    pattern = BREAKHIS_PATIENT if pattern == "breakhis" else pattern
    try:
        compiled = regex.compile(pattern)
    except (regex.error, TypeError) as exc:
        raise ValueError(f"group pattern {pattern!r} is not a valid regular expression ({exc}).") from exc
    name = Path(filename).name
    try:
        match = compiled.search(name, timeout=GROUP_PATTERN_TIMEOUT)
    except TimeoutError:
        raise ValueError(
            f"group pattern {pattern!r} took more than {GROUP_PATTERN_TIMEOUT} s on the file name {name!r} "
            "(skbcnn.datasets.GROUP_PATTERN_TIMEOUT): it backtracks catastrophically; remove nested "
            "repetition such as (a+)+ or (a|aa)+ from it."
        ) from None
    if match is None:
        return None
    if "group" in compiled.groupindex:
        return match.group("group")
    return match.group(1) if compiled.groups else match.group(0)


def _group_function(group_pattern):
    if group_pattern is None or callable(group_pattern):
        return group_pattern
    file_group(group_pattern, "")  # an invalid pattern fails before any file is read

    def group_of(path):
        group = file_group(group_pattern, path)
        if group is None:
            raise ValueError(
                f"group_pattern {group_pattern!r} does not match the file name {Path(path).name!r}."
            )
        return group

    return group_of


def _check_folder(path, what):
    if path is None:
        raise ValueError(f"{what}: a folder path is required.")
    path = Path(path).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"{what}: folder {path} does not exist.")
    if not path.is_dir():
        raise NotADirectoryError(f"{what}: {path} is not a folder.")
    return path


def _loading_size(image_size):
    """``image_size``, with ``"auto"`` read as the size the default recipe trains image files at."""
    if isinstance(image_size, str) and image_size == "auto":
        from .pipeline import recipe_image_size

        return recipe_image_size("auto")
    return image_size


# --------------------------------------------------------------- loaders
def load_image_folder(
    path,
    *,
    classes=None,
    image_size="auto",
    color="grey",
    group_pattern=None,
    extensions=IMAGE_EXTENSIONS,
    on_error="raise",
    n_jobs=None,
    verbose=False,
    return_X_y=False,
):
    """Load a one-folder-per-class image tree.

    ``path/<class name>/**/<image>``: each sub-folder of ``path`` is a class;
    images are found recursively inside it (so BreakHis' nested
    ``benign/SOB/adenosis/<patient>/40X/*.png`` works). Files named like
    BUSI masks (``*_mask.png``, ``*_mask_1.png``) and hidden files are
    skipped.

    Nothing outside ``path`` is read: an image file that is a symbolic link
    leading outside it counts as an unreadable file (an error naming it, or
    left out with a warning under ``on_error="skip"``); a class folder that
    links outside it is left out with a warning (an error when named in
    ``classes``). Links inside ``path`` are followed as usual.

    Parameters
    ----------
    path : str or path-like
        The root folder.
    classes : sequence of str, default=None
        Class folders to load, in the order of ``target_names``. ``None``
        loads every sub-folder, sorted by name.
    image_size : int, (height, width), "auto" or None, default="auto"
        Common size the images are resized to (anti-aliased). ``"auto"``:
        224 px, the size ``make_cnn_pipeline()`` and ``skbcnn train`` train
        image files at (:func:`skbcnn.pipeline.recipe_image_size`; pass
        ``recipe_image_size("from_scratch")`` for that recipe). ``None`` keeps
        the files' sizes, which must then all be equal.
    color : {"grey", "rgb"}, default="grey"
        ``"grey"`` gives ``(n, H, W)`` images, ``"rgb"`` ``(n, H, W, 3)``.
    group_pattern : str, callable or None, default=None
        How to get a group id (e.g. the patient) from each file name for
        group-aware cross-validation: ``"breakhis"`` (patient id of BreakHis
        names, see :data:`BREAKHIS_PATIENT`), a regular expression (its named
        group ``group``, else its first group, else the whole match; matched
        with a time limit, see :func:`file_group`) or a function of the file
        path. Fills ``groups``.
    extensions : tuple of str, default=IMAGE_EXTENSIONS
        File name endings (case-insensitive) that count as images.
    on_error : {"raise", "skip"}, default="raise"
        What to do with corrupt, truncated, oversized or non-image files,
        and with named pipes, sockets or devices (never opened): raise an
        error naming the file, or leave them out with a warning (their
        paths go to ``skipped``).
    n_jobs : int, default=None
        Files decoded in parallel with joblib.
    verbose : bool, default=False
        Show joblib's progress while decoding.
    return_X_y : bool, default=False
        Return ``(images, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``images`` (uint8), ``target`` (int64), ``target_names``,
        ``filenames``, ``groups`` (str array or None), ``skipped`` (messages
        of skipped files) and ``DESCR``.
    (images, target) : tuple
        When ``return_X_y=True``.

    Raises
    ------
    FileNotFoundError, NotADirectoryError
        When ``path`` or a requested class folder is missing.
    ValueError
        When there are fewer than one class folder, a class folder holds no
        image, or a file cannot be read with ``on_error="raise"``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import numpy as np
    >>> from PIL import Image
    >>> from skbcnn.datasets import load_image_folder
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> for label in ("benign", "malignant"):
    ...     (root / label).mkdir()
    ...     for i in range(3):
    ...         Image.fromarray(np.full((40, 30), 50 * i, np.uint8)).save(root / label / f"{i}.png")
    >>> data = load_image_folder(root, image_size=32)
    >>> data.images.shape, data.target.tolist(), data.target_names.tolist()
    ((6, 32, 32), [0, 0, 0, 1, 1, 1], ['benign', 'malignant'])
    """
    root = _check_folder(path, "load_image_folder")
    size = check_image_size(_loading_size(image_size), allow_none=True)
    check_param("color", color, _COLOR)
    check_param("on_error", on_error, _ON_ERROR)
    extensions = _check_extensions(extensions)
    if classes is None:
        listed = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
        # a class folder that links out of the data folder is not data of this folder
        outside = {p.name: _outside(p, root) for p in listed if _outside(p, root) is not None}
        if outside:
            warnings.warn(
                f"Skipped {len(outside)} class folder(s) of {root} that link outside it: "
                + "; ".join(f"{name} -> {target}" for name, target in outside.items())
                + ". skbcnn reads no file outside the folder it is given; copy the images in to use them.",
                UserWarning, stacklevel=2,
            )
        classes = [p.name for p in listed if p.name not in outside]
        if not classes:
            raise ValueError(
                f"load_image_folder: {root} has no class sub-folders; expected "
                f"{root}/<class name>/<images>."
            )
    classes = [str(c) for c in classes]
    if len(set(classes)) != len(classes):
        raise ValueError(f"classes has repeated names: {classes}.")

    paths, target = [], []
    for index, name in enumerate(classes):
        folder = root / name
        if not folder.is_dir():
            found = sorted(p.name for p in root.iterdir() if p.is_dir())
            raise FileNotFoundError(
                f"load_image_folder: class folder {folder} does not exist; sub-folders of {root}: {found}."
            )
        if _outside(folder, root) is not None:
            raise ValueError(
                f"load_image_folder: class folder {folder} links to {_outside(folder, root)}, outside {root}; "
                "skbcnn reads no file outside the folder it is given: copy the images into it."
            )
        files = _list_class_files(folder, extensions, root)
        if not files:
            raise ValueError(
                f"load_image_folder: class folder {folder} holds no image files "
                f"(looked for {', '.join(extensions)})."
            )
        paths.extend(files)
        target.extend([index] * len(files))

    images, kept, skipped = _read_images(paths, size, color, on_error=on_error, n_jobs=n_jobs, verbose=verbose)
    paths = [paths[i] for i in kept]
    target = np.asarray(target, dtype=np.int64)[kept]
    if return_X_y:
        return images, target
    group_of = _group_function(group_pattern)
    groups = None if group_of is None else np.asarray([str(group_of(p)) for p in paths])
    counts = ", ".join(f"{c} ({int((target == i).sum())})" for i, c in enumerate(classes))
    return Bunch(
        images=images,
        target=target,
        target_names=np.asarray(classes),
        filenames=np.asarray([str(p) for p in paths]),
        groups=groups,
        skipped=skipped,
        DESCR=(
            f"Image folder {root}\n\n:Number of images: {len(images)}\n"
            f":Image shape: {images.shape[1:]}\n:Classes (counts): {counts}\n"
        ),
    )


def _expand_paths(paths, extensions):
    """Files named in ``paths``, folders replaced by their image files; (files, problems).

    A missing path or a folder without images is a problem (an exception
    object, not raised), so that a caller can go on with the other paths.
    """
    files, problems = [], []
    for given in paths:
        path = Path(given).expanduser()
        if path.is_dir():
            found = _list_class_files(path, extensions)
            if not found:
                problems.append(ValueError(f"{path}: folder holds no image files."))
            files.extend(found)
        elif path.exists():
            files.append(path)  # named explicitly: read whatever its extension
        else:
            problems.append(FileNotFoundError(f"{path}: no such file or folder."))
    return files, problems


def load_images(paths, *, image_size="auto", color="grey", on_error="raise", extensions=IMAGE_EXTENSIONS,
                n_jobs=None, verbose=False):
    """Load unlabelled image files, e.g. to predict their classes.

    Parameters
    ----------
    paths : str, path-like or sequence of them
        Image files and folders. A folder is searched recursively for image
        files (``extensions``; BUSI mask files and hidden files are left
        out); a file named explicitly is read whatever its extension.
    image_size : int, (height, width) or "auto", default="auto"
        Common size the images are resized to (anti-aliased): that of the
        model's training images (a fitted ``make_cnn_pipeline()`` records
        it in ``image_size_`` and ``color_`` and names both when they
        differ). ``"auto"``: 224 px, the size ``make_cnn_pipeline()`` and
        ``skbcnn train`` train image files at
        (:func:`skbcnn.pipeline.recipe_image_size`).
    color : {"grey", "rgb"}, default="grey"
        ``"grey"`` gives ``(n, H, W)`` images, ``"rgb"`` ``(n, H, W, 3)``.
    on_error : {"raise", "skip"}, default="raise"
        A missing path, a folder without image files or a file that cannot
        be read (corrupt, oversized, not a regular file): raise an error
        naming it, or leave it out with a warning (its message goes to
        ``skipped``).
    extensions : tuple of str, default=IMAGE_EXTENSIONS
        File name endings (case-insensitive) that count as images in folders.
    n_jobs : int, default=None
        Files decoded in parallel with joblib.
    verbose : bool, default=False
        Show joblib's progress while decoding.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``images`` (uint8; ``(0, H, W)`` or ``(0, H, W, 3)`` when every file
        was skipped), ``filenames`` (the path of each image, in the order
        given, folders sorted) and ``skipped`` (one message per skipped path).

    Raises
    ------
    FileNotFoundError
        When a path does not exist (``on_error="raise"``).
    ValueError
        When a folder holds no image file (``on_error="raise"``), or for an
        invalid parameter.
    ImageReadError
        When a file cannot be read (``on_error="raise"``); it names the file.

    Examples
    --------
    >>> from skbcnn.datasets import load_images
    >>> import os, tempfile
    >>> from PIL import Image
    >>> folder = tempfile.mkdtemp()
    >>> Image.new("L", (30, 40)).save(os.path.join(folder, "scan0.png"))
    >>> Image.new("RGB", (60, 20)).save(os.path.join(folder, "scan1.jpg"))
    >>> data = load_images(folder, image_size=32)
    >>> data.images.shape, [os.path.basename(f) for f in data.filenames]
    ((2, 32, 32), ['scan0.png', 'scan1.jpg'])
    """
    size = check_image_size(_loading_size(image_size))
    check_param("color", color, _COLOR)
    check_param("on_error", on_error, _ON_ERROR)
    extensions = _check_extensions(extensions)
    paths = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    files, problems = _expand_paths(paths, extensions)
    if problems and on_error == "raise":
        raise problems[0]
    images, kept, errors = _decode_all(files, size, color, n_jobs=n_jobs, verbose=verbose)
    skipped = problems + errors
    _handle_unreadable(skipped, on_error, stacklevel=3)
    empty = np.empty((0, *size) + ((3,) if color == "rgb" else ()), dtype=np.uint8)
    return Bunch(
        images=np.stack(images) if images else empty,
        filenames=np.asarray([str(files[i]) for i in kept], dtype=str),
        skipped=[str(e) for e in skipped],
    )


_BUSI_DESCR = """\
Breast Ultrasound Images (BUSI)
-------------------------------

Al-Dhabyani W, Gomaa M, Khaled H, Fahmy A. Dataset of breast ultrasound
images. Data in Brief 28 (2020) 104863. 780 images (benign 437, malignant
210, normal 133) from 600 women, with lesion masks.

BUSI contains near-duplicate images (Pawlowska et al., Data in Brief 2023):
split by near-duplicate groups, not by file, or scores are inflated.

:Loaded from: {root}
:Number of images: {n}
:Image shape: {shape}
:Classes (counts): {counts}
"""


def _busi_root(path):
    root = _check_folder(path, "load_busi")
    if (root / "Dataset_BUSI_with_GT").is_dir():
        root = root / "Dataset_BUSI_with_GT"
    return root


def _busi_mask(image_path, size, max_pixels=None):
    """Union of an image's BUSI mask files (``_mask``, ``_mask_1``, ...) at ``size``.

    None when the image has no mask file. Masks are decoded like images
    (regular files only, the pixel limit, reduced decoding) and must not be
    links leading out of their image's folder; a bad one raises an
    :class:`ImageReadError` naming it.
    """
    image_path = Path(image_path)
    candidates = image_path.parent.glob(f"{glob.escape(image_path.stem)}_mask*{image_path.suffix}")
    mask_files = sorted(m for m in candidates if _MASK_SUFFIX.search(m.stem))
    union = None
    for mask_file in mask_files:
        target = _outside(mask_file, image_path.parent)
        if target is not None:  # masks sit beside their image; a link elsewhere reads someone else's file
            raise ImageReadError(f"{mask_file}: a link to {target}, outside the folder of its image; not read "
                                 "(skbcnn reads no file outside the folder it is given).")
        mask = convert_color(_decode_pixels(mask_file, size, max_pixels)[np.newaxis], "grey")[0] > 127
        mask = resize(mask, size)
        union = mask if union is None else union | mask
    return union


def _busi_masks(filenames, size, n_jobs=None):
    """The masks of the images ``filenames`` as one bool stack ``(n, *size)``.

    Returns ``(masks, None)``, or ``(None, filename)`` naming the first
    image without a mask file (a copy of BUSI without masks).
    """
    masks = Parallel(n_jobs=n_jobs)(delayed(_busi_mask)(f, size, MAX_IMAGE_PIXELS) for f in filenames)
    missing = next((f for f, mask in zip(filenames, masks) if mask is None), None)
    return (None, missing) if missing is not None else (np.stack(masks), None)


def load_busi(
    path,
    *,
    classes=("benign", "malignant", "normal"),
    image_size="auto",
    color="grey",
    return_masks=False,
    on_error="raise",
    n_jobs=None,
    verbose=False,
    return_X_y=False,
):
    """Load the BUSI breast ultrasound data set from its folder layout.

    Accepts the folder ``Dataset_BUSI_with_GT`` (or its parent), which holds
    ``benign/``, ``malignant/`` and ``normal/`` with images such as
    ``benign (1).png`` and masks ``benign (1)_mask.png``,
    ``benign (1)_mask_1.png`` (masks are never loaded as images), or any copy
    with the same class folders (e.g. resized images without masks).

    The original images have different sizes and are stored as 3-channel
    PNGs of grey data: with ``color="grey"`` they are converted to one
    channel and resized to ``image_size``.

    Parameters
    ----------
    path : str or path-like
        ``Dataset_BUSI_with_GT`` or the folder that contains it.
    classes : sequence of str, default=("benign", "malignant", "normal")
        Classes to load; ``("benign", "malignant")`` is the binary task.
    image_size : int, (height, width), "auto" or None, default="auto"
        Common size the images are resized to. ``"auto"``: 224 px, the size
        ``make_cnn_pipeline()`` and ``skbcnn train`` train image files at
        (:func:`skbcnn.pipeline.recipe_image_size`).
    color : {"grey", "rgb"}, default="grey"
        Output colour.
    return_masks : bool, default=False
        Also load the lesion masks (union of an image's mask files, resized
        with nearest neighbour) into ``masks``.
    on_error : {"raise", "skip"}, default="raise"
        Unreadable files: raise, or skip with a warning.
    n_jobs : int, default=None
        Files decoded in parallel with joblib.
    verbose : bool, default=False
        Show progress.
    return_X_y : bool, default=False
        Return ``(images, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        As :func:`load_image_folder`, plus ``masks`` (bool, ``(n, H, W)``)
        when ``return_masks=True``.
    (images, target) : tuple
        When ``return_X_y=True``.

    Examples
    --------
    >>> from skbcnn.datasets import load_busi
    >>> data = load_busi("path/to/Dataset_BUSI_with_GT")  # doctest: +SKIP
    >>> data.images.shape, data.target_names.tolist()  # doctest: +SKIP
    ((780, 224, 224), ['benign', 'malignant', 'normal'])
    """
    root = _busi_root(path)
    missing = [c for c in classes if not (root / c).is_dir()]
    if missing:
        raise FileNotFoundError(
            f"load_busi: {root} has no class folder(s) {missing}; expected the BUSI layout "
            "Dataset_BUSI_with_GT/{benign,malignant,normal}/."
        )
    data = load_image_folder(
        root, classes=classes, image_size=image_size, color=color, on_error=on_error,
        n_jobs=n_jobs, verbose=verbose,
    )
    if return_X_y:
        return data.images, data.target
    if return_masks:
        data.masks, missing = _busi_masks(data.filenames, data.images.shape[1:3], n_jobs)
        if missing is not None:
            raise ValueError(
                f"load_busi: no mask file for {missing} (expected {Path(missing).stem}_mask.png)."
            )
    counts = ", ".join(f"{c} ({int((data.target == i).sum())})" for i, c in enumerate(data.target_names))
    data.DESCR = _BUSI_DESCR.format(root=root, n=len(data.images), shape=data.images.shape[1:], counts=counts)
    return data


# Labels of a MedMNIST file are class indices below this.
_MAX_MEDMNIST_CLASSES = 1000

# Label names of the MedMNIST sets this library targets; others get "0", "1", ...
_MEDMNIST_LABELS = {"breastmnist": ("malignant", "normal/benign")}

_MEDMNIST_DESCR = """\
MedMNIST array file {path}
--------------------------------------------

Yang J. et al. MedMNIST v2 - A large-scale lightweight benchmark for 2D and
3D biomedical image classification. Scientific Data 10 (2023) 41.

:Split: {split}
:Number of images: {n}
:Image shape: {shape}
:Classes (counts): {counts}
"""


def load_medmnist(path=None, *, split="train", image_size=None, color="grey", return_X_y=False):
    """Load one split of a MedMNIST ``.npz`` file (e.g. BreastMNIST).

    The file holds ``{split}_images`` (uint8, ``(N, H, W)`` or
    ``(N, H, W, 3)``) and ``{split}_labels`` (``(N, 1)`` or ``(N,)``) for
    the splits ``train``, ``val`` and ``test``. It is read with
    ``allow_pickle=False``, so a crafted file cannot run code.

    Parameters
    ----------
    path : str or path-like, default=None
        The ``.npz`` file; ``None`` means ``breastmnist_trainval.npz`` in the
        data folder (:func:`skbcnn._config.get_data_home`, environment
        variable ``SKBCNN_DATA``).
    split : {"train", "val", "test"}, default="train"
        Which split to load.
    image_size : int, (height, width) or None, default=None
        Resize to this size; ``None`` keeps the file's size.
    color : {"grey", "rgb"}, default="grey"
        Output colour.
    return_X_y : bool, default=False
        Return ``(images, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``images`` (uint8), ``target`` (int64), ``target_names`` (for
        BreastMNIST ``["malignant", "normal/benign"]``: label 0 is
        malignant), ``filenames`` (``"<split>_<index>"``) and ``DESCR``.
    (images, target) : tuple
        When ``return_X_y=True``.

    Examples
    --------
    >>> import tempfile, os
    >>> import numpy as np
    >>> from skbcnn.datasets import load_medmnist
    >>> file = os.path.join(tempfile.mkdtemp(), "breastmnist.npz")
    >>> np.savez(file, train_images=np.zeros((4, 28, 28), np.uint8),
    ...          train_labels=np.array([[0], [1], [1], [0]], np.uint8))
    >>> data = load_medmnist(file, split="train")
    >>> data.images.shape, data.target.tolist(), data.target_names.tolist()
    ((4, 28, 28), [0, 1, 1, 0], ['malignant', 'normal/benign'])
    """
    path = Path(path).expanduser() if path is not None else get_data_home() / "breastmnist_trainval.npz"
    size = check_image_size(image_size, allow_none=True)
    check_param("color", color, _COLOR)
    if path.exists() and not path.is_file():
        raise ValueError(f"load_medmnist: {path} is not a regular file (a folder, named pipe or device); "
                         "pass the path of a MedMNIST .npz file.")
    if not path.is_file():
        raise FileNotFoundError(
            f"load_medmnist: file {path} does not exist (set SKBCNN_DATA or pass the path of a "
            "MedMNIST .npz file)."
        )
    import zipfile

    # np.load tries other formats on a file that is not a zip archive (and
    # for random bytes answers with advice about pickles): say what it is.
    if not zipfile.is_zipfile(path):
        raise ValueError(f"load_medmnist: {path} is not a readable .npz file: it is not a zip archive "
                         "(MedMNIST files are .npz archives such as breastmnist.npz).")
    try:
        with np.load(path, allow_pickle=False) as archive:
            keys = set(archive.files)
            if f"{split}_images" in keys and f"{split}_labels" in keys:
                images = archive[f"{split}_images"]
                labels = archive[f"{split}_labels"]
    except Exception as exc:  # zipfile.BadZipFile, OSError, refused object arrays
        raise ValueError(f"load_medmnist: {path} is not a readable .npz file ({exc}).") from None
    if f"{split}_images" not in keys or f"{split}_labels" not in keys:
        splits = sorted(k[: -len("_images")] for k in keys if k.endswith("_images"))
        raise ValueError(f"load_medmnist: {path} has no split {split!r}; splits in the file: {splits}.")

    if labels.ndim == 2 and labels.shape[1] != 1:
        raise ValueError(
            f"load_medmnist: labels of shape {labels.shape} are multi-label; skbcnn classifies "
            "one label per image."
        )
    integral = labels.dtype.kind in "iu" or (
        labels.dtype.kind == "f" and bool(np.all(np.isfinite(labels) & (labels == np.round(labels))))
    )
    if not integral or (labels.size and labels.min() < 0):
        raise ValueError(
            f"load_medmnist: expected non-negative integer labels in {split}_labels; "
            f"got dtype {labels.dtype}" + (f", minimum {labels.min()}." if labels.dtype.kind in "iuf" else ".")
        )
    if labels.size and labels.max() >= _MAX_MEDMNIST_CLASSES:
        # a label is a class index: n classes make n names and counts
        raise ValueError(
            f"load_medmnist: {split}_labels holds the label {labels.max()}; labels are class indices "
            f"below {_MAX_MEDMNIST_CLASSES} (MedMNIST sets have at most 11 classes). The file is damaged."
        )
    target = labels.reshape(-1).astype(np.int64)
    if images.ndim not in (3, 4) or len(images) != len(target):
        raise ValueError(
            f"load_medmnist: expected {split}_images of shape (N, H, W[, C]) matching "
            f"{len(target)} labels; got {images.shape}."
        )
    if images.dtype != np.uint8:
        raise ValueError(f"load_medmnist: expected uint8 images; got {images.dtype}.")
    if len(images) == 0 or min(images.shape[1:]) == 0:
        raise ValueError(f"load_medmnist: {split}_images holds no images or zero-size images; got {images.shape}.")
    if images.ndim == 4:
        # grey (N, H, W, 1) and RGBA are accepted like the image files are
        # (alpha dropped); other channel counts are not images we know.
        if images.shape[-1] not in (1, 3, 4):
            raise ValueError(
                f"load_medmnist: expected grey, RGB or RGBA images (1, 3 or 4 channels); "
                f"got {images.shape[-1]} channels."
            )
    images = convert_color(images, color)
    if size is not None:
        images = np.stack([resize(image, size) for image in images])

    dataset = next((name for name in _MEDMNIST_LABELS if name in path.name.lower()), None)
    n_classes = int(target.max()) + 1
    names = _MEDMNIST_LABELS[dataset] if dataset else tuple(str(i) for i in range(n_classes))
    if return_X_y:
        return images, target
    counts = ", ".join(f"{c} ({int((target == i).sum())})" for i, c in enumerate(names))
    return Bunch(
        images=images,
        target=target,
        target_names=np.asarray(names),
        filenames=np.asarray([f"{split}_{i}" for i in range(len(images))]),
        DESCR=_MEDMNIST_DESCR.format(path=path, split=split, n=len(images), shape=images.shape[1:], counts=counts),
    )


# ------------------------------------------------------------ any source
# Side load_dataset gives "synthetic" when image_size is None: the
# generator's default (a MedMNIST file keeps its own size, folders get
# _loading_size("auto")).
_SYNTHETIC_SIDE = 64

_SOURCES = "a folder of class folders, a BUSI folder, a MedMNIST .npz file or 'synthetic'"


def _is_synthetic(source):
    return str(source).lower() == "synthetic"


def _is_busi(path):
    """A BUSI folder: it holds ``Dataset_BUSI_with_GT``, or a class folder with ``*_mask*.png`` files."""
    if (path / "Dataset_BUSI_with_GT").is_dir():
        return True
    for name in ("benign", "malignant", "normal"):
        folder = path / name
        if folder.is_dir() and next(folder.glob("*_mask*.png"), None) is not None:
            return True
    return False


def _select_classes(data, classes):
    """Keep the images of ``classes`` (a loader without a ``classes`` option)."""
    names = [str(n) for n in data.target_names]
    unknown = [c for c in classes if c not in names]
    if unknown:
        raise ValueError(f"classes {unknown} are not in the data; its classes are {names}.")
    keep = np.isin(data.target_names[data.target], classes)
    data.images, data.target, data.filenames = data.images[keep], data.target[keep], data.filenames[keep]
    return data


def _npz_image_side(path, split):
    """Side of the images in a MedMNIST file, from the array's .npy header only (None if unreadable)."""
    import zipfile

    try:
        with zipfile.ZipFile(Path(path).expanduser()) as archive, archive.open(f"{split}_images.npy") as member:
            major, _ = np.lib.format.read_magic(member)
            read_header = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
            shape = read_header(member)[0]
        return int(min(shape[1:3]))
    except Exception:  # any problem is reported by load_medmnist, with its own message
        return None


def native_image_size(source, *, split="train"):
    """Side of the images a source has of its own, known before loading it.

    ``load_dataset(source, split=split)`` keeps this size when
    ``image_size`` is None. Folders have none: their files come in any size
    and are resized (to :func:`skbcnn.pipeline.recipe_image_size`, 224 px,
    unless told otherwise).

    Parameters
    ----------
    source : str or path-like
        As in :func:`load_dataset`.
    split : str, default="train"
        Split of a MedMNIST file.

    Returns
    -------
    side : int or None
        64 for ``"synthetic"``; for a name ending in ``.npz``, the side of
        its images read from the array header alone (None when the file is
        missing or unreadable: :func:`load_dataset` says why); None for
        folders.

    Examples
    --------
    >>> from skbcnn.datasets import native_image_size
    >>> native_image_size("synthetic"), native_image_size("path/to/images")
    (64, None)
    """
    if _is_synthetic(source):
        return _SYNTHETIC_SIDE
    if str(source).lower().endswith(".npz"):
        return _npz_image_side(source, split)
    return None


def _labelled(data, kind, masks):
    """A loader's Bunch with class names as ``labels``, its ``masks`` and ``kind``."""
    return Bunch(images=data.images, labels=data.target_names[data.target], target=data.target,
                 target_names=data.target_names, masks=masks, filenames=data.filenames, kind=kind,
                 DESCR=data.DESCR)


def load_dataset(source, *, image_size=None, classes=None, color="grey", split="train",
                 n_samples=600, random_state=0, with_masks=True, on_error="raise"):
    """Load labelled images from any source this module reads.

    One entry point for the built-in synthetic data, a BUSI folder, any
    one-folder-per-class tree and a MedMNIST ``.npz`` file; the kind of
    source is recognised, then its loader is called.

    Parameters
    ----------
    source : str or path-like
        ``"synthetic"`` (the built-in data set,
        :func:`make_synthetic_ultrasound`), a MedMNIST ``.npz`` file
        (:func:`load_medmnist`), a BUSI folder (``Dataset_BUSI_with_GT`` or
        its parent, recognised by its ``*_mask.png`` files;
        :func:`load_busi`) or a one-folder-per-class tree
        (:func:`load_image_folder`).
    image_size : int, (height, width) or None, default=None
        Common image size; ``None``: 64 for ``synthetic``, the file's size
        for ``.npz`` (see :func:`native_image_size`), for folders the size
        ``make_cnn_pipeline()`` trains image files at (224,
        :func:`skbcnn.pipeline.recipe_image_size`).
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
        Also load lesion masks where the source has them (synthetic, BUSI
        with mask files; a BUSI copy without masks loads without them).
    on_error : {"raise", "skip"}, default="raise"
        Unreadable image files in folders (corrupt, oversized, not regular
        files): stop with an error naming the file, or leave them out with a
        warning. A bad mask file always stops with an error.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``images`` (uint8), ``labels`` (the class name of each image),
        ``target`` (int indices into ``target_names``), ``target_names``,
        ``masks`` (bool array or None), ``filenames``, ``DESCR`` and ``kind``
        (``"synthetic"``, ``"medmnist"``, ``"busi"`` or ``"folder"``).

    Raises
    ------
    FileNotFoundError
        When ``source`` does not exist.
    ValueError
        When ``source`` is a file but not an ``.npz`` archive, a class is not
        in the data, or the chosen loader refuses the data
        (:class:`ImageReadError` for an unreadable image file).

    Examples
    --------
    >>> from skbcnn.datasets import load_dataset
    >>> data = load_dataset("synthetic", n_samples=6, image_size=16)
    >>> data.images.shape, data.kind
    ((6, 16, 16), 'synthetic')
    """
    if _is_synthetic(source):
        kwargs = {} if classes is None else {"classes": classes}
        size = _SYNTHETIC_SIDE if image_size is None else image_size
        data = make_synthetic_ultrasound(n_samples, image_size=size, random_state=random_state, **kwargs)
        if color == "rgb":
            data.images = convert_color(data.images, "rgb")
        return _labelled(data, "synthetic", data.masks if with_masks else None)
    path = Path(source).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"data source {str(source)!r} does not exist; it must be {_SOURCES}.")
    if path.is_file():
        if path.suffix.lower() != ".npz":
            raise ValueError(f"{path} is a file but not a MedMNIST .npz archive; it must be {_SOURCES}.")
        data = load_medmnist(path, split=split, image_size=image_size, color=color)
        return _labelled(data if classes is None else _select_classes(data, classes), "medmnist", None)
    kind = "busi" if _is_busi(path) else "folder"
    kwargs = dict(image_size=_loading_size("auto") if image_size is None else image_size, color=color,
                  on_error=on_error)
    if kind == "folder":
        return _labelled(load_image_folder(path, classes=classes, **kwargs), kind, None)
    if classes is not None:
        kwargs["classes"] = classes
    data = load_busi(path, **kwargs)
    # a copy without mask files loads without masks; a bad mask file is an error
    masks = _busi_masks(data.filenames, data.images.shape[1:3])[0] if with_masks else None
    return _labelled(data, kind, masks)


def group_near_duplicates(images, *, size=64, threshold=0.95):
    """Group ids that keep near-duplicate images together.

    Some data sets hold the same lesion more than once (other frames,
    crops or re-exports; BUSI has many). Cross-validation folds split by
    file then put copies on both sides and inflate every score. Use these
    ids as ``groups`` of a group-aware splitter
    (:class:`sklearn.model_selection.StratifiedGroupKFold`) and of
    ``CNNClassifier.fit`` (whose early-stopping hold-out then keeps them
    together too).

    Two images are near-duplicates when their grey versions, shrunk to
    ``size`` x ``size`` pixels, have a Pearson correlation of at least
    ``threshold``; groups are the connected components of that relation
    (transitive: if A ~ B and B ~ C, all three share a group).

    Parameters
    ----------
    images : array-like of shape (n_samples, H, W) or (n_samples, H, W, C)
        The images (any dtype; RGB is averaged to grey).
    size : int, default=64
        Side of the shrunk images that are compared.
    threshold : float, default=0.95
        Correlation above which two images are near-duplicates, in (0, 1].

    Returns
    -------
    groups : ndarray of shape (n_samples,)
        Integer group ids, numbered in order of first appearance; images
        without a near-duplicate get a group of their own. A constant image
        (no contrast) is alone in its group.

    Examples
    --------
    >>> import numpy as np
    >>> from skbcnn.datasets import group_near_duplicates
    >>> rng = np.random.default_rng(0)
    >>> a, b = rng.random((2, 32, 32))
    >>> group_near_duplicates(np.stack([a, b, a + 0.01, a[::-1]])).tolist()
    [0, 1, 0, 2]
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from skimage.transform import resize

    images = np.asarray(images)
    if images.ndim not in (3, 4) or len(images) == 0:
        raise ValueError(
            f"group_near_duplicates expects a non-empty stack of images (n, H, W) or (n, H, W, C); "
            f"got shape {images.shape}."
        )
    if not (isinstance(size, (int, np.integer)) and size >= 2):
        raise ValueError(f"size must be an integer >= 2; got {size!r}.")
    if isinstance(threshold, bool) or not (isinstance(threshold, (int, float, np.floating)) and 0 < threshold <= 1):
        raise ValueError(f"threshold must be in (0, 1]; got {threshold!r}.")
    grey = images.mean(axis=-1, dtype=np.float32) if images.ndim == 4 else images.astype(np.float32)
    if not np.isfinite(grey).all():
        raise ValueError("group_near_duplicates: the images contain NaN or infinite values.")
    small = np.stack([resize(im, (size, size), anti_aliasing=True) for im in grey])
    flat = small.reshape(len(small), -1).astype(np.float64)
    flat -= flat.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(flat, axis=1, keepdims=True)
    flat = np.divide(flat, norms, out=np.zeros_like(flat), where=norms > 0)
    rows, cols = [], []
    for start in range(0, len(flat), 1024):  # bounded memory for large sets
        # a little tolerance, so that threshold=1 still joins exact copies
        i, j = np.nonzero(flat[start:start + 1024] @ flat.T >= threshold - 1e-9)
        rows.append(i + start)
        cols.append(j)
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    graph = coo_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(len(flat),) * 2)
    _, labels = connected_components(graph, directed=False)
    # renumber in order of first appearance, so the ids do not depend on scipy
    _, first = np.unique(labels, return_index=True)
    order = np.argsort(np.argsort(first))
    return order[labels]
