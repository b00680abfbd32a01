"""Shared fixtures: seeds, quiet TensorFlow, tiny synthetic datasets."""

import os
import random

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _seeds():
    random.seed(0)
    np.random.seed(0)
