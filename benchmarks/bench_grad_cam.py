"""How well do Grad-CAM maps of the default pipeline point at the lesion?

Trains the default pipeline (``make_cnn_pipeline``) on the built-in synthetic
ultrasound set, computes Grad-CAM maps for the predicted class on held-out
benign and malignant images, and reports the pointing-game hit rate
(:func:`skbcnn.explain.localization_hit_rate`) against the lesion masks,
next to the chance level (mean lesion-area fraction: what a map pointing at
a random pixel scores on average).

Run: ``python benchmarks/bench_grad_cam.py [--n-samples 600] [--image-size 64]
[--epochs 30] [--random-state 0]`` (about 1-3 minutes on 2 CPU cores).
"""

import argparse
import time

import numpy as np
from sklearn.model_selection import train_test_split

from skbcnn import make_cnn_pipeline
from skbcnn.datasets import make_synthetic_ultrasound
from skbcnn.explain import find_target_layer, grad_cam, localization_hit_rate


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=600)
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--random-state", type=int, default=0)
    args = parser.parse_args(argv)

    data = make_synthetic_ultrasound(args.n_samples, image_size=args.image_size, random_state=args.random_state)
    labels = data.target_names[data.target]
    idx_train, idx_test = train_test_split(
        np.arange(len(labels)), test_size=0.25, stratify=labels, random_state=args.random_state
    )
    pipeline = make_cnn_pipeline(
        cnn__epochs=args.epochs, cnn__random_state=args.random_state,
        augment__random_state=args.random_state,
    )
    start = time.perf_counter()
    pipeline.fit(data.images[idx_train], labels[idx_train])
    fit_s = time.perf_counter() - start
    accuracy = pipeline.score(data.images[idx_test], labels[idx_test])

    masks = data.masks[idx_test]
    lesion = masks.any(axis=(1, 2))
    X_lesion = data.images[idx_test][lesion]
    start = time.perf_counter()
    maps_pred = grad_cam(pipeline, X_lesion)
    cam_s = time.perf_counter() - start
    true_index = np.searchsorted(pipeline.classes_, labels[idx_test][lesion])
    maps_true = grad_cam(pipeline, X_lesion, class_index=true_index)

    chance = float(masks[lesion].mean())
    correct = pipeline.predict(X_lesion) == labels[idx_test][lesion]
    hit_correct = localization_hit_rate(maps_pred[correct], masks[lesion][correct])
    hit_pred = localization_hit_rate(maps_pred, masks[lesion])
    hit_true = localization_hit_rate(maps_true, masks[lesion])
    # a fixed guess: the image centre
    centre = np.zeros_like(maps_pred)
    centre[:, args.image_size // 2, args.image_size // 2] = 1
    hit_centre = localization_hit_rate(centre, masks[lesion])

    print(f"data: {args.n_samples} synthetic images, {args.image_size} px; "
          f"train {len(idx_train)}, test {len(idx_test)} ({int(lesion.sum())} with a lesion)")
    print(f"fit: {fit_s:.1f} s, {len(pipeline[-1].history_['loss'])} epochs; held-out accuracy {accuracy:.3f}")
    print(f"grad_cam: {cam_s:.2f} s for {int(lesion.sum())} images")
    print(f"hit rate (predicted class): {hit_pred:.3f}")
    print(f"hit rate (true class):      {hit_true:.3f}")
    print(f"hit rate (correctly classified, {int(correct.sum())} images): {hit_correct:.3f}")
    print(f"image-centre guess:         {hit_centre:.3f}")
    print(f"chance (mean lesion area):  {chance:.3f}")

    # The same score at the last convolution of every block (the default
    # layer is the deepest one whose maps are >= 1/4 of the input).
    model = pipeline[-1].model_
    default_layer = find_target_layer(model)
    print("\nhit rate (predicted class) by layer:")
    for layer in model.layers:
        if layer.name.startswith("block") and layer.name.endswith(f"_act{pipeline[-1].convs_per_block}"):
            hit = localization_hit_rate(grad_cam(pipeline, X_lesion, layer=layer.name), masks[lesion])
            size = layer.output.shape[1]
            mark = "  <- default" if layer.name == default_layer else ""
            print(f"  {layer.name:<12} ({size} x {size}): {hit:.3f}{mark}")


if __name__ == "__main__":
    main()
