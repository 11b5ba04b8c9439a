"""The suite's own comparison rule (tests/conftest.py): pytest.approx without its default absolute
tolerance of 1e-12, which would make every femtojoule or picosecond comparison pass."""
import pytest


def test_femtojoule_values_are_compared_relatively():
    assert 2e-15 != pytest.approx(1e-15, rel=1e-6)
    assert 1e-15 * (1 + 1e-9) == pytest.approx(1e-15, rel=1e-6)
    assert 0.0 == pytest.approx(0.0)  # exact zero still equals itself
    assert 1e-13 == pytest.approx(0.0, abs=1e-12)  # an absolute tolerance where a test asks for one
