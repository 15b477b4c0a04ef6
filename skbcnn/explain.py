"""Visual explanations of the CNN's decisions: Grad-CAM heat maps.

:func:`grad_cam` computes Gradient-weighted Class Activation Maps
(Selvaraju et al., ICCV 2017) for a fitted :class:`skbcnn.CNNClassifier` or
a pipeline that ends in one: which regions of each image raised the score of
a class. :func:`localization_hit_rate` checks such maps against lesion masks
(BUSI ground truth, or the masks of the built-in synthetic data).

TensorFlow is imported only when :func:`grad_cam` runs.
"""

import numpy as np

from ._steps import split_final_step

__all__ = ["grad_cam", "localization_hit_rate", "find_target_layer"]

_CONV_FOLLOWERS = ("BatchNormalization", "Activation", "ReLU", "LeakyReLU", "ELU", "PReLU")


def find_target_layer(model, *, min_fraction=0.25):
    """Name of the layer Grad-CAM looks at.

    The deepest convolution whose feature maps are still at least
    ``min_fraction`` of the input's height (with skbcnn's default
    four-block network: the third block), taken after its batch
    normalisation and activation, before pooling; the last convolution if
    none is that large. Deeper maps are too coarse to point at a lesion, and
    shallower ones see too little of it: :doc:`/benchmarks` compares the
    blocks (``benchmarks/bench_grad_cam.py``).

    Parameters
    ----------
    model : keras.Model
        A network with at least one ``Conv2D`` layer.
    min_fraction : float, default=0.25
        Smallest feature-map height, as a fraction of the input height.

    Returns
    -------
    name : str
        The layer name.

    Raises
    ------
    ValueError
        If the model has no ``Conv2D`` layer.

    Examples
    --------
    >>> from skbcnn.models import build_cnn
    >>> find_target_layer(build_cnn((64, 64, 1), 3))  # the default network: third block
    'block3_act2'
    """
    layers = list(model.layers)
    conv = [i for i, layer in enumerate(layers) if type(layer).__name__ == "Conv2D"]
    if not conv:
        raise ValueError(
            f"The model {model.name!r} has no Conv2D layer; pass layer= to choose the "
            "layer whose feature maps Grad-CAM uses."
        )
    height = model.input_shape[1]
    large = [i for i in conv if height is None or layers[i].output.shape[1] >= min_fraction * height]
    index = large[-1] if large else conv[-1]
    while index + 1 < len(layers) and type(layers[index + 1]).__name__ in _CONV_FOLLOWERS:
        index += 1
    return layers[index].name


def _model_inputs(classifier, X):
    """Images as the network sees them (the classifier's own preprocessing)."""
    X, _ = classifier._validate_data(X, reset=False)
    return np.asarray(classifier.feature_encoder_.transform(X), dtype=np.float32)


def _class_indices(class_index, classifier, n_images, predicted):
    n_classes = len(classifier.classes_)
    if class_index is None or (isinstance(class_index, str) and class_index == "predicted"):
        return predicted
    if isinstance(class_index, str):
        raise ValueError(f"class_index must be an int, an array of ints, None or 'predicted'; got {class_index!r}.")
    indices = np.broadcast_to(np.asarray(class_index), (n_images,))
    if indices.dtype.kind not in "iu":
        raise ValueError(f"class_index must hold integer column indices of classes_; got {class_index!r}.")
    if indices.min() < 0 or indices.max() >= n_classes:
        raise ValueError(
            f"class_index must be in [0, {n_classes - 1}] (columns of classes_ "
            f"{list(classifier.classes_)}); got {class_index!r}."
        )
    return indices.astype(int)


def grad_cam(estimator, X, *, class_index=None, layer=None, batch_size=64):
    """Grad-CAM heat maps: where in each image the evidence for a class lies.

    For every image, the feature maps ``A_k`` of a convolution layer are
    weighted by the spatial mean of the gradient of the class score
    (the logit, i.e. the value before the softmax or sigmoid of the output
    layer) with respect to them; the map is ``ReLU(sum_k w_k A_k)``,
    scaled to ``[0, 1]`` per image and resized to the input's size.

    Parameters
    ----------
    estimator : fitted CNNClassifier or Pipeline ending in one
        For a pipeline, the images first go through the ``transform`` of the
        steps before the classifier (enhancement, normalisation; the
        augmenter is the identity at this stage).
    X : array-like of shape (n_samples, H, W) or (n_samples, H, W, C)
        Images, as passed to ``predict``.
    class_index : int, array-like of int, "predicted" or None, default=None
        Column of ``classes_`` whose evidence is shown, one for all images
        or one per image. ``None`` or ``"predicted"``: each image's predicted
        class.
    layer : str, optional
        Name of the layer of ``model_`` whose feature maps are used. Default:
        the deepest convolution with maps of at least a quarter of the input
        size, after its batch normalisation and activation
        (:func:`find_target_layer`).
    batch_size : int, default=64
        Images per gradient computation.

    Returns
    -------
    heatmaps : ndarray of shape (n_samples, H, W)
        float32 maps in ``[0, 1]`` at the spatial size of ``X``. An image
        without positive evidence gets an all-zero map.

    Notes
    -----
    The network's last convolution in the default architecture works at
    1/4 to 1/16 of the input resolution, so the maps are coarse; they are
    resized with bilinear interpolation.

    Examples
    --------
    >>> from skbcnn import CNNClassifier
    >>> from skbcnn.datasets import make_synthetic_ultrasound
    >>> from skbcnn.explain import grad_cam
    >>> X, y = make_synthetic_ultrasound(40, image_size=32, random_state=0,
    ...                                  return_X_y=True)
    >>> clf = CNNClassifier(conv_filters=(4, 8), dense_units=(8,), epochs=1,
    ...                     random_state=0).fit(X, y)
    >>> maps = grad_cam(clf, X[:3])
    >>> maps.shape, bool(maps.min() >= 0), bool(maps.max() <= 1)
    ((3, 32, 32), True, True)
    """
    from sklearn.utils.validation import check_is_fitted

    from ._validation import check_images

    preprocess, classifier = split_final_step(estimator)
    if not hasattr(classifier, "model_"):
        check_is_fitted(classifier)
        raise ValueError(
            f"grad_cam needs a fitted CNNClassifier (or a pipeline ending in one); got "
            f"{type(classifier).__name__}, which has no Keras model_."
        )
    X = check_images(X)
    out_size = X.shape[1:3]
    Xt = X if preprocess is None else preprocess.transform(X)
    inputs = _model_inputs(classifier, Xt)

    import keras
    import tensorflow as tf

    model = classifier.model_
    layer_name = find_target_layer(model) if layer is None else layer
    try:
        target = model.get_layer(layer_name)
    except ValueError:
        names = [lay.name for lay in model.layers]
        raise ValueError(f"The model has no layer {layer_name!r}; its layers are {names}.") from None
    if len(target.output.shape) != 4:
        raise ValueError(
            f"Layer {layer_name!r} outputs shape {tuple(target.output.shape)}; Grad-CAM needs "
            "a 4-D (batch, height, width, channels) feature map."
        )

    # Score before the output activation when the last layer is a Dense
    # softmax/sigmoid: gradients of saturated probabilities vanish.
    head = model.layers[-1]
    activation = getattr(getattr(head, "activation", None), "__name__", None)
    use_logits = type(head).__name__ == "Dense" and activation in ("softmax", "sigmoid")
    second = head.input if use_logits else model.output
    grad_model = keras.Model(model.inputs, [target.output, second])

    n_classes = len(classifier.classes_)
    proba = np.asarray(model.predict(inputs, batch_size=batch_size, verbose=0))
    if proba.ndim == 2 and proba.shape[1] == 1:  # one sigmoid unit (binary)
        proba = np.hstack([1 - proba, proba])
    indices = _class_indices(class_index, classifier, len(X), np.argmax(proba, axis=1))

    maps = []
    for start in range(0, len(inputs), batch_size):
        batch = tf.convert_to_tensor(inputs[start : start + batch_size])
        idx = tf.constant(indices[start : start + batch_size], dtype=tf.int32)
        with tf.GradientTape() as tape:
            features, out = grad_model(batch, training=False)
            if use_logits:
                out = tf.matmul(out, head.kernel) + (head.bias if head.use_bias else 0.0)
            if out.shape[-1] == 1 and n_classes == 2:
                # one logit z for class 1; class 0 has score -z
                sign = tf.cast(2 * idx - 1, out.dtype)
                score = out[:, 0] * sign
            else:
                score = tf.gather(out, idx, axis=1, batch_dims=1)
        grads = tape.gradient(score, features)
        weights = tf.reduce_mean(grads, axis=(1, 2), keepdims=True)
        cam = tf.nn.relu(tf.reduce_sum(weights * features, axis=-1))
        maps.append(np.asarray(cam, dtype=np.float64))
    cams = np.concatenate(maps)

    from skimage.transform import resize

    heatmaps = np.empty((len(cams), *out_size), dtype=np.float32)
    for i, cam in enumerate(cams):
        if not np.isfinite(cam).all() or cam.max() <= 0:
            heatmaps[i] = 0.0
            continue
        up = resize(cam / cam.max(), out_size, order=1, mode="edge", anti_aliasing=False)
        heatmaps[i] = np.clip(up / up.max(), 0, 1)
    return heatmaps


def localization_hit_rate(heatmaps, masks):
    """Fraction of images whose heat-map peak lies inside the lesion mask.

    The "pointing game" (Zhang et al., 2016): for every image with a
    non-empty mask, the pixel with the highest heat-map value (the first
    one on ties) is a *hit* when it is inside the mask. Images with an empty
    mask (normal images) do not count.

    A map that points at random pixels scores, on average, the mean mask
    area fraction of the counted images (the chance level): compare with
    ``masks[masks.any(axis=(1, 2))].mean()``.

    Parameters
    ----------
    heatmaps : array-like of shape (n_samples, H, W)
        Heat maps, e.g. from :func:`grad_cam`.
    masks : array-like of bool of shape (n_samples, H, W)
        Lesion masks at the same size.

    Returns
    -------
    hit_rate : float
        Hits divided by the number of images with a non-empty mask.

    Raises
    ------
    ValueError
        On mismatched shapes, or when no mask is non-empty.

    Examples
    --------
    >>> import numpy as np
    >>> from skbcnn.explain import localization_hit_rate
    >>> masks = np.zeros((3, 4, 4), bool)
    >>> masks[0, :2, :2] = masks[1, 2:, 2:] = True   # image 2 has no lesion
    >>> heat = np.zeros((3, 4, 4))
    >>> heat[0, 0, 0] = heat[1, 0, 0] = 1.0           # hit, miss
    >>> localization_hit_rate(heat, masks)
    0.5
    """
    heatmaps = np.asarray(heatmaps, dtype=float)
    masks = np.asarray(masks).astype(bool)
    if heatmaps.ndim != 3 or heatmaps.shape != masks.shape:
        raise ValueError(
            f"heatmaps and masks must both have shape (n_samples, H, W); got "
            f"{heatmaps.shape} and {masks.shape}."
        )
    has_lesion = masks.reshape(len(masks), -1).any(axis=1)
    if not has_lesion.any():
        raise ValueError("No mask is non-empty: the hit rate is undefined without lesions.")
    flat = heatmaps[has_lesion].reshape(int(has_lesion.sum()), -1)
    peaks = np.argmax(flat, axis=1)
    hits = masks[has_lesion].reshape(len(flat), -1)[np.arange(len(flat)), peaks]
    return float(hits.mean())
