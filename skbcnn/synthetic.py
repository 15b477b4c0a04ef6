"""The built-in synthetic breast ultrasound data set: runs with no download.

Images are procedurally generated B-mode-like grey images. Every image has
layered breast tissue (skin line, subcutaneous fat, fibroglandular tissue,
deep tissue) with smooth random texture, depth attenuation and multiplicative
speckle. Benign and malignant images contain one hypoechoic (dark) lesion whose
look follows the BI-RADS ultrasound lexicon:

============  ============================  ==================================
cue           benign                        malignant
============  ============================  ==================================
shape         oval, wider-than-tall         irregular, taller-than-wide
margin        circumscribed, sharp          spiculated (radial spikes),
              (sometimes a thin capsule)    indistinct (sometimes a halo)
interior      homogeneous                   heterogeneous, microcalcifications
posterior     enhancement (brighter below)  shadowing (darker band below)
============  ============================  ==================================

Each cue is drawn at random and some are absent in some images, and the
distributions overlap, so no single cue decides the class. Normal images have
no lesion. Distractors appear in *every* class (dark fat lobules, refraction
shadows), and position, size, orientation, brightness and contrast are
jittered per image, so that global intensity statistics do not reveal the
class: a model has to look at the lesion.

Everything is vectorised over the batch with numpy and ``scipy.ndimage``
(no per-pixel Python loops): 1000 images of 64x64 take well under a second.
"""

from numbers import Integral, Real

import numpy as np
from scipy import ndimage
from sklearn.utils import Bunch, check_random_state

from ._validation import Range, check_param

__all__ = ["make_synthetic_ultrasound", "SYNTHETIC_CLASSES"]

SYNTHETIC_CLASSES = ("benign", "malignant", "normal")

# Lesion outlines are radius profiles sampled on this many angles.
_N_ANGLES = 180

_DESCR = """\
Synthetic breast ultrasound data set (skbcnn built-in)
------------------------------------------------------

Procedurally generated B-mode-like grey images, so that examples, tests and
the ``skbcnn demo`` command run without downloading anything. It is a stand-in
for real data (BUSI, BreastMNIST), not a substitute: scores on it say nothing
about clinical performance.

:Number of images: {n}
:Image size: {size}x{size} pixels, uint8 grey
:Classes (counts): {counts}
:Noise (speckle strength): {noise}

Each image shows layered breast tissue (skin line, subcutaneous fat with dark
fat lobules, fibroglandular tissue, deep tissue), smooth random texture, depth
attenuation, refraction shadows and multiplicative Rayleigh speckle.
Benign and malignant images hold one hypoechoic lesion following the BI-RADS
cues: benign = oval, wider-than-tall, circumscribed, homogeneous, often
posterior enhancement; malignant = irregular and spiculated, taller-than-wide,
heterogeneous with microcalcifications, often posterior shadowing. Normal
images have no lesion. Position, size, orientation, brightness and contrast
are jittered per image so that global intensity statistics carry little
information about the class.

``masks`` holds the lesion masks (all False for normal images) and
``centers`` the lesion centres (row, column), NaN for normal images.
"""


def _check_classes(classes):
    if isinstance(classes, str) or not hasattr(classes, "__iter__"):
        raise ValueError(
            f"classes must be a sequence of class names from {list(SYNTHETIC_CLASSES)}; "
            f"got {classes!r}."
        )
    classes = tuple(str(c) for c in classes)
    unknown = [c for c in classes if c not in SYNTHETIC_CLASSES]
    if unknown:
        raise ValueError(
            f"Unknown synthetic class name(s) {unknown}; available classes are "
            f"{list(SYNTHETIC_CLASSES)}."
        )
    if len(classes) == 0 or len(set(classes)) != len(classes):
        raise ValueError(f"classes must be non-empty and without repeats; got {list(classes)}.")
    return classes


def _class_counts(n_samples, n_classes, weights):
    """Exact per-class counts from proportions, as in make_classification."""
    if weights is None:
        weights = np.full(n_classes, 1.0 / n_classes)
    else:
        weights = np.asarray(weights, dtype=float).ravel()
        if weights.size == n_classes - 1:  # sklearn convention: last one implied
            weights = np.append(weights, 1.0 - weights.sum())
        if weights.size != n_classes:
            raise ValueError(
                f"weights must have {n_classes} (or {n_classes - 1}) entries, one per "
                f"class; got {weights.size}."
            )
        if not np.all(np.isfinite(weights)) or np.any(weights < 0) or weights.sum() <= 0:
            raise ValueError(
                f"weights must be non-negative proportions with a positive sum; got "
                f"{weights.tolist()}."
            )
        weights = weights / weights.sum()
    counts = np.floor(n_samples * weights).astype(int)
    # Hand the remainder out round-robin to classes with non-zero weight.
    eligible = np.flatnonzero(weights > 0)
    for i in range(n_samples - counts.sum()):
        counts[eligible[i % eligible.size]] += 1
    return counts


def _uniform(rng, low, high, shape):
    """Uniform draws as float32, so that image-sized arrays stay float32."""
    return rng.uniform(low, high, shape).astype(np.float32)


def _smooth_field(rng, shape, sigma):
    """Smooth random field per image, zero mean and unit std per image."""
    field = ndimage.gaussian_filter(
        rng.standard_normal(shape).astype(np.float32), sigma=(0, *sigma), mode="wrap"
    )
    field -= field.mean(axis=(1, 2), keepdims=True)
    field /= field.std(axis=(1, 2), keepdims=True) + 1e-6
    return field


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _ellipses(rows, cols, centre_r, centre_c, half_w, half_h, edge):
    """Soft filled axis-aligned ellipses, one per (image, slot); shapes (n, k)."""
    d = np.sqrt(
        ((rows[None, None] - centre_r[..., None, None]) / half_h[..., None, None]) ** 2
        + ((cols[None, None] - centre_c[..., None, None]) / half_w[..., None, None]) ** 2
    )
    # d is in units of the radius; convert the edge width from pixels.
    return np.clip((1.0 - d) * half_h[..., None, None] / edge + 0.5, 0.0, 1.0)


def _tissue(rng, n, size, rows, cols):
    """Layered tissue echo level in [0, 1]-ish, shape (n, size, size)."""
    depth = rows / size  # (size, 1)
    x = cols / size  # (1, size)

    def boundary(low, high):
        base = _uniform(rng, low, high, (n, 1, 1))
        amp = _uniform(rng, 0.0, 0.04, (n, 1, 1))
        freq = _uniform(rng, 0.5, 2.0, (n, 1, 1))
        phase = _uniform(rng, 0, 2 * np.pi, (n, 1, 1))
        return base + amp * np.sin(2 * np.pi * freq * x[None] + phase)

    skin = boundary(0.03, 0.07)
    fat_bottom = boundary(0.15, 0.35)
    gland_bottom = boundary(0.7, 0.92)
    fat = _uniform(rng, 0.3, 0.45, (n, 1, 1))
    gland = _uniform(rng, 0.55, 0.8, (n, 1, 1))
    deep = _uniform(rng, 0.35, 0.55, (n, 1, 1))
    width = 0.015
    level = (
        fat
        + (gland - fat) * _sigmoid((depth[None] - fat_bottom) / width)
        + (deep - gland) * _sigmoid((depth[None] - gland_bottom) / width)
        + 0.5 * np.exp(-(((depth[None] - skin) / 0.012) ** 2))
    )
    # Horizontally stretched texture: tissue planes run parallel to the skin.
    texture = _smooth_field(rng, (n, size, size), (0.02 * size, 0.07 * size))
    amplitude = 0.15 + 0.15 * _sigmoid((depth[None] - fat_bottom) / width)
    level = level * (1.0 + amplitude * texture)
    return level.astype(np.float32), fat_bottom, skin


def _fat_lobules(rng, n, size, rows, cols, skin, fat_bottom):
    """Multiplicative factor with 0-3 dark oval fat lobules (every class)."""
    k = 3
    active = rng.random((n, k)) < 0.5
    mid = 0.5 * (skin[:, 0, 0] + fat_bottom[:, 0, 0])[:, None]
    centre_r = (mid + _uniform(rng, -0.04, 0.04, (n, k))) * size
    centre_c = _uniform(rng, 0.1, 0.9, (n, k)) * size
    half_w = _uniform(rng, 0.06, 0.14, (n, k)) * size
    half_h = np.maximum(half_w / _uniform(rng, 1.8, 3.0, (n, k)), 0.6)
    darkness = _uniform(rng, 0.2, 0.45, (n, k)) * active
    blobs = _ellipses(rows, cols, centre_r, centre_c, half_w, half_h, edge=max(0.02 * size, 0.7))
    return np.prod(1.0 - darkness[..., None, None] * blobs, axis=1)


def _refraction_shadows(rng, n, size, rows, cols):
    """Multiplicative factor with 0-2 narrow vertical shadows (every class)."""
    k = 2
    active = rng.random((n, k)) < 0.35
    column = _uniform(rng, 0.1, 0.9, (n, k, 1, 1)) * size
    width = np.maximum(_uniform(rng, 0.01, 0.03, (n, k, 1, 1)) * size, 0.6)
    start = _uniform(rng, 0.1, 0.4, (n, k, 1, 1)) * size
    strength = (_uniform(rng, 0.15, 0.45, (n, k)) * active)[..., None, None]
    band = np.exp(-(((cols[None, None] - column) / width) ** 2)) * _sigmoid(
        (rows[None, None] - start) / max(0.02 * size, 0.5)
    )
    return np.prod(1.0 - strength * band, axis=1)


def _radius_profiles(rng, n, malignant, mean_radius):
    """Lesion outline radius per angle, shape (n, _N_ANGLES), in pixels."""
    theta = np.linspace(-np.pi, np.pi, _N_ANGLES, endpoint=False)
    # Benign: wider-than-tall; malignant: taller-than-wide (slight overlap).
    aspect = np.where(malignant, _uniform(rng, 0.6, 1.15, n), _uniform(rng, 1.1, 2.0, n))
    half_w = mean_radius * np.sqrt(aspect)
    half_h = mean_radius / np.sqrt(aspect)
    tilt = _uniform(rng, -0.35, 0.35, n)
    t = theta[None] - tilt[:, None]
    ellipse = (half_w * half_h)[:, None] / np.sqrt(
        (half_h[:, None] * np.cos(t)) ** 2 + (half_w[:, None] * np.sin(t)) ** 2
    )
    # Low-order harmonics: gentle lobulation (benign) or irregularity (malignant).
    harmonics = np.arange(2, 8)
    scale = np.where(malignant, 0.1, 0.03)[:, None] * (harmonics <= np.where(malignant, 7, 3)[:, None])
    coef = _uniform(rng, -1, 1, (n, harmonics.size)) * scale
    phase = _uniform(rng, 0, 2 * np.pi, (n, harmonics.size))
    wobble = np.sum(coef[..., None] * np.cos(harmonics[None, :, None] * theta + phase[..., None]), axis=1)
    # Spiculations: pointed radial spikes, malignant only.
    k = 8
    spike_on = (rng.random((n, k)) < 0.7) & malignant[:, None]
    spike_angle = _uniform(rng, -np.pi, np.pi, (n, k))
    spike_len = _uniform(rng, 0.3, 0.9, (n, k)) * spike_on
    spike_width = _uniform(rng, 0.08, 0.16, (n, k))
    delta = np.angle(np.exp(1j * (theta[None, None] - spike_angle[..., None])))
    spikes = np.max(spike_len[..., None] * np.clip(1 - np.abs(delta) / spike_width[..., None], 0, 1), axis=1)
    return ellipse * (1.0 + wobble + spikes)


def _lesions(rng, n, size, rows, cols, has_lesion, malignant):
    """Lesion geometry: soft inside map, distance to outline, centres, masks."""
    centre_r = _uniform(rng, 0.38, 0.62, n) * size
    centre_c = _uniform(rng, 0.3, 0.7, n) * size
    mean_radius = _uniform(rng, 0.08, 0.16, n) * size
    profile = _radius_profiles(rng, n, malignant, mean_radius)
    dy = rows[None] - centre_r[:, None, None]
    dx = cols[None] - centre_c[:, None, None]
    dist = np.sqrt(dy**2 + dx**2)
    angle_index = ((np.arctan2(dy, dx) + np.pi) / (2 * np.pi) * _N_ANGLES).astype(int) % _N_ANGLES
    radius = np.take_along_axis(profile, angle_index.reshape(n, -1), axis=1).reshape(dist.shape)
    signed = radius - dist  # > 0 inside, in pixels
    # Circumscribed (sharp) margin for benign, indistinct for malignant.
    edge = np.where(malignant, max(0.025 * size, 0.8), max(0.008 * size, 0.4))[:, None, None]
    inside = np.clip(signed / edge + 0.5, 0.0, 1.0) * has_lesion[:, None, None]
    masks = (signed > 0) & has_lesion[:, None, None]
    centres = np.where(has_lesion[:, None], np.stack([centre_r, centre_c], axis=1), np.nan)
    return inside.astype(np.float32), signed.astype(np.float32), masks, centres, mean_radius


def _posterior(size, rows, inside):
    """Where posterior features live: below the lesion, within its columns."""
    cover = ndimage.gaussian_filter1d(inside.max(axis=1), sigma=max(0.015 * size, 0.5), axis=1)
    bottom = np.max(np.where(inside > 0.5, rows[None], 0.0), axis=1)  # (n, size)
    below = rows[None] - bottom[:, None, :]
    return cover[:, None, :] * _sigmoid(below / max(0.015 * size, 0.5)), below


def make_synthetic_ultrasound(
    n_samples=300,
    *,
    image_size=64,
    classes=SYNTHETIC_CLASSES,
    weights=None,
    noise=0.35,
    return_X_y=False,
    random_state=None,
):
    """Generate the built-in synthetic breast ultrasound data set.

    B-mode-like grey images of breast tissue with a benign or malignant
    hypoechoic lesion, or none (normal). Benign lesions are oval,
    wider-than-tall, circumscribed and homogeneous, often with posterior
    enhancement; malignant lesions are irregular and spiculated,
    taller-than-wide and heterogeneous, often with posterior shadowing
    (BI-RADS cues). Cues are random and overlap between classes, and
    distractors (dark fat lobules, refraction shadows) and brightness/contrast
    jitter appear in every class, so global intensity statistics reveal little
    about the class. See the module docstring for the details.

    Parameters
    ----------
    n_samples : int, default=300
        Number of images.
    image_size : int, default=64
        Side of the square images in pixels (at least 8).
    classes : sequence of str, default=("benign", "malignant", "normal")
        Classes to generate, in the order of ``target_names``; any non-empty
        subset of the default, e.g. ``("benign", "malignant")`` for the binary
        task.
    weights : array-like of shape (n_classes,) or (n_classes - 1,), default=None
        Proportion of each class (normalised to sum to 1); as in
        :func:`sklearn.datasets.make_classification`, the last proportion is
        implied when one fewer is given. Per-class counts are exact (the
        remainder is handed out round-robin); ``None`` means balanced.
    noise : float, default=0.35
        Speckle strength in ``[0, 1]``: 0 means no speckle, 1 fully developed
        (Rayleigh) speckle.
    return_X_y : bool, default=False
        Return ``(images, target)`` instead of a Bunch.
    random_state : int, RandomState instance or None, default=None
        Seed; the same seed and parameters give the same images.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        With ``images`` (uint8 array of shape ``(n_samples, image_size,
        image_size)``), ``target`` (int64 indices into ``target_names``),
        ``target_names`` (str array, equal to ``classes``), ``masks`` (bool
        lesion masks of the images' shape, all False for normal images),
        ``centers`` (float array ``(n_samples, 2)``: lesion centre row and
        column in pixels, NaN for normal images), ``filenames`` (str ids
        ``"synthetic_0001"``, ...) and ``DESCR``.
    (images, target) : tuple
        When ``return_X_y=True``.

    Raises
    ------
    ValueError
        On a non-positive ``n_samples``, ``image_size`` below 8, ``noise``
        outside ``[0, 1]``, unknown or repeated class names, or bad
        ``weights``.

    Examples
    --------
    >>> from skbcnn.datasets import make_synthetic_ultrasound
    >>> data = make_synthetic_ultrasound(6, image_size=32, random_state=0)
    >>> data.images.shape, data.images.dtype
    ((6, 32, 32), dtype('uint8'))
    >>> data.target_names.tolist()
    ['benign', 'malignant', 'normal']
    >>> data.target_names[data.target].tolist()
    ['normal', 'malignant', 'benign', 'malignant', 'benign', 'normal']
    >>> bool(data.masks[data.target == 2].any())  # normal images: no lesion
    False
    >>> X, y = make_synthetic_ultrasound(10, image_size=16, classes=("benign", "malignant"),
    ...                                  weights=[0.7, 0.3], return_X_y=True,
    ...                                  random_state=0)
    >>> X.shape, y.tolist().count(0)
    ((10, 16, 16), 7)
    """
    check_param("n_samples", n_samples, [Range(Integral, 1, None, closed="left")])
    check_param("image_size", image_size, [Range(Integral, 8, None, closed="left")])
    check_param("noise", noise, [Range(Real, 0, 1, closed="both")])
    classes = _check_classes(classes)
    n, size = int(n_samples), int(image_size)
    rng = check_random_state(random_state)

    counts = _class_counts(n, len(classes), weights)
    target = rng.permutation(np.repeat(np.arange(len(classes)), counts)).astype(np.int64)
    names = np.asarray(classes)[target]
    has_lesion = names != "normal"
    malignant = names == "malignant"

    rows = np.arange(size, dtype=np.float32)[:, None]
    cols = np.arange(size, dtype=np.float32)[None, :]

    # 1. Tissue and the distractors that every class shares.
    echo, fat_bottom, skin = _tissue(rng, n, size, rows, cols)
    echo *= _fat_lobules(rng, n, size, rows, cols, skin, fat_bottom)
    echo *= _refraction_shadows(rng, n, size, rows, cols)

    # 2. Lesion outline, then posterior features in the tissue below it.
    inside, signed, masks, centres, mean_radius = _lesions(
        rng, n, size, rows, cols, has_lesion, malignant
    )
    region, below = _posterior(size, rows, inside)
    shows_posterior = rng.random(n) < 0.65
    enhance = _uniform(rng, 0.15, 0.5, n) * (shows_posterior & has_lesion & ~malignant)
    shadow = _uniform(rng, 0.3, 0.7, n) * (shows_posterior & malignant)
    # Enhancement fades with depth; shadows persist to the bottom.
    fade = np.exp(-np.maximum(below, 0) / (0.25 * size))
    echo *= 1.0 + enhance[:, None, None] * region * fade - shadow[:, None, None] * region

    # 3. Lesion interior: homogeneous (benign) or heterogeneous (malignant).
    level = _uniform(rng, 0.1, 0.35, (n, 1, 1))
    heterogeneity = np.where(malignant, 0.45, 0.08)[:, None, None]
    interior = level * np.clip(1.0 + heterogeneity * _smooth_field(rng, (n, size, size), (0.02 * size,) * 2), 0.1, None)
    # Microcalcifications: a few bright dots inside about half the malignant lesions.
    k = 3
    calc_on = (rng.random((n, k)) < 0.5) & malignant[:, None]
    calc_angle = _uniform(rng, -np.pi, np.pi, (n, k))
    calc_dist = _uniform(rng, 0.0, 0.6, (n, k)) * mean_radius[:, None]
    calc_r = np.nan_to_num(centres[:, :1]) + calc_dist * np.sin(calc_angle)
    calc_c = np.nan_to_num(centres[:, 1:]) + calc_dist * np.cos(calc_angle)
    dots = np.exp(
        -((rows[None, None] - calc_r[..., None, None]) ** 2 + (cols[None, None] - calc_c[..., None, None]) ** 2)
        / (2 * max(0.008 * size, 0.5) ** 2)
    )
    interior = interior + 0.7 * np.sum(dots * calc_on[..., None, None], axis=1)
    # Margins: a thin echogenic capsule (benign) or a thick echogenic halo (malignant).
    rim_on = rng.random(n) < 0.5
    thin, thick = max(0.01 * size, 0.5), max(0.03 * size, 0.8)
    capsule = np.exp(-((signed / thin) ** 2))
    halo = np.exp(-(((signed + thick) / thick) ** 2)) * (signed < 0)
    rim_strength = _uniform(rng, 0.1, 0.3, n) * rim_on * has_lesion
    rim = np.where(malignant[:, None, None], halo, capsule) * rim_strength[:, None, None]
    echo = echo * (1.0 - inside) + interior * inside + rim

    # 4. Depth attenuation, speckle, then per-image brightness/contrast.
    attenuation = _uniform(rng, 0.2, 1.0, (n, 1, 1))
    echo *= np.exp(-attenuation * rows[None] / size)
    grain = (0, 0.6, 1.2)  # speckle grains are elongated laterally
    envelope = np.hypot(
        ndimage.gaussian_filter(rng.standard_normal((n, size, size)).astype(np.float32), grain),
        ndimage.gaussian_filter(rng.standard_normal((n, size, size)).astype(np.float32), grain),
    )
    envelope /= envelope.mean(axis=(1, 2), keepdims=True)
    echo *= (1.0 - noise) + noise * envelope
    gain = _uniform(rng, 0.7, 1.3, (n, 1, 1))
    gamma = _uniform(rng, 0.75, 1.35, (n, 1, 1))
    echo = gain * np.clip(echo, 0.0, None) ** gamma
    images = np.clip(np.rint(echo * 255.0), 0, 255).astype(np.uint8)

    if return_X_y:
        return images, target
    counts_text = ", ".join(f"{c} ({int(m)})" for c, m in zip(classes, counts))
    return Bunch(
        images=images,
        target=target,
        target_names=np.asarray(classes, dtype=str),
        masks=masks,
        centers=centres.astype(float),
        filenames=np.asarray([f"synthetic_{i + 1:04d}" for i in range(n)]),
        DESCR=_DESCR.format(n=n, size=size, counts=counts_text, noise=noise),
    )
