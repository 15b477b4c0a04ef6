"""Training batches with fresh random augmentation every epoch."""

import keras
import numpy as np

__all__ = ["AugmentedBatches"]


class AugmentedBatches(keras.utils.PyDataset):
    """Shuffled mini-batches, each augmented anew when Keras asks for it.

    Nothing is materialised beyond one batch: batch ``b`` is drawn with the
    seed ``(seed, epoch, b)``, so training is reproducible even when Keras
    fetches batches in any order. (Keras peeks at two batches and calls
    ``on_epoch_end`` once before training starts, so its first epoch uses
    ``epoch == 1``; the counter only has to differ between epochs.)

    Parameters
    ----------
    X : ndarray of shape (n_samples, H, W, C)
        Original (unaugmented) float images.
    y : ndarray
        Encoded targets.
    sample_weight : ndarray or None
        Per-image weights.
    batch_size : int
        Images per batch.
    augmenter : skbcnn.augmentation.ImageAugmenter
        Fitted augmenter whose ``augment`` draws the random transforms.
    seed : int
        Base seed.
    """

    def __init__(self, X, y, sample_weight, *, batch_size, augmenter, seed, workers=1):
        super().__init__(workers=workers, use_multiprocessing=False)
        self.X, self.y, self.sample_weight = X, y, sample_weight
        self.batch_size = batch_size
        self.augmenter = augmenter
        self.seed = seed
        self.epoch = 0
        self._order = self._shuffle()

    def _shuffle(self):
        return np.random.default_rng([self.seed, self.epoch]).permutation(len(self.X))

    def __len__(self):
        return int(np.ceil(len(self.X) / self.batch_size))

    def __getitem__(self, index):
        rows = self._order[index * self.batch_size : (index + 1) * self.batch_size]
        rng = np.random.default_rng([self.seed, self.epoch, index])
        images = self.augmenter.augment(self.X[rows], random_state=rng)
        if self.sample_weight is None:
            return images, self.y[rows]
        return images, self.y[rows], self.sample_weight[rows]

    def on_epoch_end(self):
        self.epoch += 1
        self._order = self._shuffle()
