"""Shared test fixtures and the one helper for "rejected with an error naming X".

Session-scoped fixtures load each preset, shipped BNN and the MNIST test split once for the
whole suite. ``rejected(exc, *words)`` is the shape of every bad-input test: the call raises
``exc`` (or a subclass) and the message contains every word (argument name, offending value,
allowed range), as the project's error-message rule asks.
"""
from __future__ import annotations

import contextlib

import pytest

from accel import Accelerator, presets
from mapping import bnn
from mapping.networks.data import load_mnist


# pytest.approx(expected, rel=r) also accepts anything within an absolute 1e-12 of ``expected``
# (max(rel·|expected|, 1e-12)): every femtojoule or picosecond comparison in joules or seconds
# would then pass whatever its value. Relative tolerances only; a test that means an absolute one
# says abs=.
type(pytest.approx(1.0)).DEFAULT_ABSOLUTE_TOLERANCE = 0.0  # the scalar class, wherever pytest keeps it


@contextlib.contextmanager
def _rejected(exc: type[BaseException], *words: str):
    with pytest.raises(exc) as info:
        yield info
    message = str(info.value)
    missing = [w for w in words if w not in message]
    assert not missing, f"error message {message!r} does not name {missing}"


@pytest.fixture(scope="session")
def rejected():
    """``with rejected(ValueError, "radius_um", "-3.0", ">= 0"): call()``: the call raises that
    exception type with a message naming every word."""
    return _rejected


@pytest.fixture(scope="session")
def robin_eo_config():
    return presets.load("robin-eo")


@pytest.fixture(scope="session")
def robin_eo(robin_eo_config):
    return Accelerator(robin_eo_config)


@pytest.fixture(scope="session")
def robin_po():
    return Accelerator(presets.load("robin-po"))


@pytest.fixture(scope="session")
def lightbulb():
    return Accelerator(presets.load("lightbulb"))


@pytest.fixture(scope="session")
def mnist_test():
    """The MNIST test split as ``(images, labels)`` tensors."""
    return load_mnist("test")


@pytest.fixture(scope="session")
def mlp_model():
    """The shipped ``mnist-mlp`` BNN (torch, eval mode)."""
    return bnn.load_pretrained("mnist-mlp").eval()


@pytest.fixture(scope="session")
def cnn_model():
    """The shipped ``mnist-cnn`` BNN (torch, eval mode)."""
    return bnn.load_pretrained("mnist-cnn").eval()


@pytest.fixture(scope="session")
def mlp(mlp_model):
    """The shipped ``mnist-mlp`` exported to a ``FoldedBNN``."""
    return bnn.export_binary(mlp_model)


@pytest.fixture(scope="session")
def cnn(cnn_model):
    """The shipped ``mnist-cnn`` exported to a ``FoldedBNN``."""
    return bnn.export_binary(cnn_model)
