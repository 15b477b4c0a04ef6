"""Time the preprocessing transformers against a naive scikit-image loop.

For each method: a plain per-image loop over scikit-image / scipy calls (the
code a user would write by hand), the transformer with ``n_jobs=1`` and with
``n_jobs=2``. Input: synthetic ultrasound images, converted to float32 in
``[0, 1]`` beforehand so every variant gets the same array. Each timing is
the best of ``--repeat`` runs (the machine may be shared; the minimum is the
least disturbed run). The joblib worker pool is warmed up once before timing,
so ``n_jobs=2`` numbers exclude process start-up.

    python benchmarks/bench_enhancement.py [--n-images 100] [--size 128] [--repeat 3]
"""

import argparse
import os
import platform
import sys
import time

import numpy as np


def naive_loops():
    """method name -> function(image) doing what the transformer does."""
    from scipy.ndimage import gaussian_filter, median_filter
    from skimage import exposure, restoration

    def stretch(im):
        low, high = np.percentile(im, (2, 98))
        return exposure.rescale_intensity(im, in_range=(low, high), out_range=(0.0, 1.0))

    def nl_means(im):
        sigma = restoration.estimate_sigma(im)
        return restoration.denoise_nl_means(im, h=0.8 * sigma, sigma=sigma, patch_size=5,
                                            patch_distance=6, fast_mode=True)

    def zscore(im):
        return (im - im.mean()) / max(im.std(), 1e-6)

    return {
        ("ContrastEnhancer", "clahe"): exposure.equalize_adapthist,
        ("ContrastEnhancer", "hist"): exposure.equalize_hist,
        ("ContrastEnhancer", "stretch"): stretch,
        ("ContrastEnhancer", "gamma"): lambda im: exposure.adjust_gamma(im, 1.0),
        ("ContrastEnhancer", "log"): exposure.adjust_log,
        ("Denoiser", "median"): lambda im: median_filter(im, size=3),
        ("Denoiser", "gaussian"): lambda im: gaussian_filter(im, 1.0),
        ("Denoiser", "bilateral"): lambda im: restoration.denoise_bilateral(im, sigma_spatial=1.0),
        ("Denoiser", "tv"): lambda im: restoration.denoise_tv_chambolle(im, weight=0.1),
        ("Denoiser", "nl_means"): nl_means,
        ("Denoiser", "wavelet"): lambda im: restoration.denoise_wavelet(im, rescale_sigma=True),
        ("IntensityNormalizer", "zscore"): zscore,
    }


def best_of(func, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-images", type=int, default=100)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    import joblib
    import scipy
    import skimage
    import sklearn

    from skbcnn import enhancement
    from skbcnn.synthetic import make_synthetic_ultrasound

    images = make_synthetic_ultrasound(args.n_images, image_size=args.size, random_state=0,
                                       return_X_y=True)[0]
    images = images.astype(np.float32) / 255

    # Start the joblib worker processes once, outside the timings.
    enhancement.ContrastEnhancer("none", n_jobs=2).fit(images[:2])
    enhancement.Denoiser("median", n_jobs=2).fit_transform(images[:4])

    print(f"platform: {platform.platform()}; python {sys.version.split()[0]}; "
          f"cpu_count: {os.cpu_count()}")
    print(f"numpy {np.__version__}, scipy {scipy.__version__}, scikit-image {skimage.__version__}, "
          f"scikit-learn {sklearn.__version__}, joblib {joblib.__version__}")
    print(f"{args.n_images} images of {args.size}x{args.size}, float32; best of {args.repeat}\n")
    header = (f"| {'transformer':<19} | {'method':<9} | {'naive loop s':>12} | {'n_jobs=1 s':>10} "
              f"| {'n_jobs=2 s':>10} | {'1 / naive':>9} | {'2 / 1':>6} |")
    print(header)
    print("|" + "|".join("-" * (len(cell)) for cell in header.split("|")[1:-1]) + "|")
    for (cls_name, method), one in naive_loops().items():
        cls = getattr(enhancement, cls_name)
        naive = best_of(lambda: [one(im) for im in images], args.repeat)
        timings = []
        for n_jobs in (1, 2):
            params = {"method": method}
            if cls_name != "IntensityNormalizer":
                params["n_jobs"] = n_jobs
            est = cls(**params).fit(images)
            timings.append(best_of(lambda: est.transform(images), args.repeat))
        t1, t2 = timings
        if cls_name == "IntensityNormalizer":
            t2_cell, ratio2 = f"{'(vectorised)':>10}", f"{'-':>6}"
        else:
            t2_cell, ratio2 = f"{t2:>10.3f}", f"{t2 / t1:>6.2f}"
        print(f"| {cls_name:<19} | {method:<9} | {naive:>12.3f} | {t1:>10.3f} | {t2_cell} "
              f"| {t1 / naive:>9.2f} | {ratio2} |", flush=True)


if __name__ == "__main__":
    main()
