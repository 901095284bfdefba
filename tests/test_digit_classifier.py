"""The digit classifier, the judge of completeness."""
import pytest

from vae_utils import digit_classifier


def test_the_judge_refuses_labels_of_another_set(train_x, digits):
    """The labels must be the images': labels of the test set with training images would train the
    classifier on a part of them with the wrong labels, silently."""
    (_, y), (_, y_test) = digits
    with pytest.raises(ValueError, match=r"^labels .*int64 tensor of shape \[64\]"):
        digit_classifier.train(train_x[:64], y_test[:32], epochs=1)
    with pytest.raises(ValueError, match="^labels"):
        digit_classifier.train(train_x[:64], y[:64].float(), epochs=1)
