"""What the filtering transformers share: running a stack function over
chunks of the batch in parallel, the per-image wrappers that turn one-image
functions into stack functions, and the ``n_jobs`` parameter constraint.

The wrappers are plain functions bound with :func:`functools.partial`, so
the stack functions stay picklable for joblib's process backends.
"""

from numbers import Integral

import numpy as np
from joblib import Parallel, cpu_count, delayed, effective_n_jobs

from sklearn.utils._param_validation import Hidden

from .._validation import Range

# None or a non-zero int (joblib: -1 is all cores, 0 means nothing); the
# message names both signs at once.
N_JOBS_CONSTRAINT = [
    None,
    Range(Integral, None, -1, closed="right", words="a non-zero integer"),
    Hidden(Range(Integral, 1, None, closed="left")),
]


def map_chunks(func, images, n_jobs):
    """Apply ``func`` (stack -> stack of the same length) over chunks of images.

    The batch is cut into about ``n_jobs`` contiguous chunks, one joblib task
    each: one task per image would spend more time in scheduling and pickling
    than in filtering a single image. Results are concatenated in the input
    order, so the output does not depend on ``n_jobs``. At most one worker
    per CPU (``joblib.cpu_count()``) runs, whatever ``n_jobs`` says.

    Threads are preferred: scikit-image and scipy.ndimage release the GIL in
    their inner loops, and threads avoid copying the images to worker
    processes (the comparison with processes is in :doc:`/benchmarks`).
    ``joblib.parallel_config(backend=...)`` overrides it.
    """
    # More workers than CPUs only add threads (n_jobs=100000 would ask the
    # system for 100000 of them and fail), more than chunks leave them idle.
    n_workers = min(effective_n_jobs(n_jobs), cpu_count())
    n_chunks = min(n_workers, len(images))
    if n_chunks <= 1:
        return func(images)
    chunks = np.array_split(images, n_chunks)
    results = Parallel(n_jobs=n_chunks, prefer="threads")(delayed(func)(chunk) for chunk in chunks)
    return np.concatenate(results, axis=0)


def per_image(func, stack, **kwargs):
    """Run the one-image function ``func(image, **kwargs)`` on each image of ``stack``.

    Bind it as ``functools.partial(per_image, func, **kwargs)`` to get a
    stack function for :func:`map_chunks`.
    """
    out = np.empty(stack.shape, dtype=np.float32)
    for i, image in enumerate(stack):
        out[i] = func(image, **kwargs)
    return out


def single_channel_as_grey(func, stack):
    """Run the stack function ``func`` on ``(n, H, W, 1)`` images as ``(n, H, W)``.

    One-channel images then take the grey code path of scikit-image, and
    the channel axis is put back afterwards.
    """
    if stack.ndim == 4 and stack.shape[-1] == 1:
        return func(stack[..., 0])[..., np.newaxis]
    return func(stack)
