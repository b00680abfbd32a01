"""The learning-rate warm-up of the from-scratch recipe (`--warmup-epochs`)."""

import keras
import numpy as np
import pytest

from trainer.callbacks import WarmUp
from trainer.config import TrainConfig


class _Rates(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.rates = []

    def on_epoch_begin(self, epoch, logs=None):
        self.rates.append(float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)))


def test_warm_up_ramps_the_rate_linearly_then_holds_it_and_resumes_from_the_epoch():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.Adam(0.03), "mse")
    rates = _Rates()
    x = np.zeros((4, 2), "float32")
    model.fit(x, x[:, :1], epochs=5, verbose=0, callbacks=[WarmUp(2, 0.03), rates])
    np.testing.assert_allclose(rates.rates, [0.01, 0.02, 0.03, 0.03, 0.03], rtol=1e-6)
    resumed = WarmUp(2, 0.03)
    resumed.set_model(model)
    resumed.on_epoch_begin(1)  # a run resumed at epoch 1 trains at epoch 1's rate
    np.testing.assert_allclose(float(model.optimizer.learning_rate), 0.02, rtol=1e-6)


def test_warm_up_epochs_are_checked():
    assert TrainConfig(data="d", out="o", warmup_epochs=3).warmup_epochs == 3
    with pytest.raises(ValueError, match="--warmup-epochs must be >= 0, got -1"):
        TrainConfig(data="d", out="o", warmup_epochs=-1)
