"""The base class of skbcnn's image transformers: one place for the shared
fit checks, transform checks and scikit-learn tags."""

from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ._validation import check_image_shape, check_images

__all__ = ["ImageTransformer"]


class ImageTransformer(TransformerMixin, BaseEstimator):
    """Common fit/transform checks and tags of the image transformers."""

    def _validate_params(self):  # overridden by subclasses
        pass

    def fit(self, X, y=None):
        """Check the parameters and record the input image shape.

        Parameters
        ----------
        X : array-like of shape (n_samples, height, width[, channels])
            Training images.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : object
            The fitted transformer.
        """
        self._check_fit_input(X)
        return self

    def _check_fit_input(self, X):
        self._validate_params()
        images = check_images(X)
        check_image_shape(self, images, reset=True)
        return images

    def _check_transform_input(self, X):
        check_is_fitted(self)
        images = check_images(X)
        check_image_shape(self, images, reset=False)
        return images

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Inputs are stacks of images, not (n_samples, n_features) tables.
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags
