"""photonics.materials against published refractive indices and thermo-optic coefficients."""
import numpy as np
import pytest

from photonics import materials
from photonics.materials import DN_DT_SI_PER_K, DN_DT_SIO2_PER_K, n_si, n_sio2


def test_silicon_index_at_1550_nm():
    # Crystalline Si at 1550 nm, room temperature: 3.4757 (H. H. Li, J. Phys. Chem. Ref. Data 9,
    # 561, 1980). Tolerance 1e-3: two fits of the same data (Edwards' Sellmeier and Herzberger
    # forms in Palik's handbook) differ by 8e-4 here.
    assert n_si(1550.0) == pytest.approx(3.4757, abs=1e-3)


def test_silicon_matches_independent_herzberger_fit_across_band():
    # Herzberger fit of D. F. Edwards in Palik, Handbook of Optical Constants (1985) p. 547:
    # n = A + B·L + C·L² + D·λ² + E·λ⁴, L = 1/(λ² − 0.028), λ in µm. A different functional
    # form from the Sellmeier used by the code; the two agree to 1.5e-3 over 1450–1650 nm.
    lam_nm = np.linspace(1450.0, 1650.0, 21)
    lam2 = (lam_nm / 1000.0) ** 2
    big_l = 1.0 / (lam2 - 0.028)
    herzberger = 3.41906 + 1.23172e-1 * big_l + 2.65456e-2 * big_l**2 - 2.66511e-8 * lam2 + 5.45852e-14 * lam2**2
    np.testing.assert_allclose(n_si(lam_nm), herzberger, atol=1.5e-3)


def test_silica_index_published_values():
    # Fused silica (Malitson, J. Opt. Soc. Am. 55, 1205, 1965): 1.4440 at 1550 nm; the
    # catalogue d-line index of fused silica is n_d = 1.4585 at 587.56 nm.
    assert n_sio2(1550.0) == pytest.approx(1.4440, abs=1e-4)
    assert n_sio2(587.56) == pytest.approx(1.4585, abs=2e-4)


def test_thermo_optic_coefficients_are_the_published_values():
    # docs/references.md §2: dn/dT of Si 1.86e-4 /K, SiO2 8.5e-6 /K.
    assert DN_DT_SI_PER_K == 1.86e-4
    assert DN_DT_SIO2_PER_K == 8.5e-6


@pytest.mark.parametrize("fn", [n_si, n_sio2])
def test_vectorised_equals_scalar_loop_and_normal_dispersion(fn):
    lam_nm = np.linspace(1450.0, 1650.0, 11).reshape(11, 1) + np.zeros((1, 3))
    arr = fn(lam_nm)
    assert arr.shape == lam_nm.shape
    np.testing.assert_array_equal(arr, np.vectorize(fn)(lam_nm))
    assert isinstance(fn(1550.0), float)
    assert np.all(np.diff(arr[:, 0]) < 0)  # normal dispersion: index falls with wavelength


@pytest.mark.parametrize(
    "fn, value, exc, pattern",
    [
        (n_si, 1100.0, ValueError, r"wavelength_nm=1100.0 .*>= 1200.0 nm"),
        (n_sio2, 4000.0, ValueError, r"wavelength_nm=4000.0 .*<= 3710.0 nm"),
        (n_si, float("nan"), ValueError, r"wavelength_nm .*non-finite"),
        (n_sio2, float("inf"), ValueError, r"wavelength_nm .*non-finite"),
        (n_si, "1550", TypeError, r"wavelength_nm must be a real number"),
        (n_si, [1550.0, 900.0], ValueError, r"wavelength_nm=900.0"),
    ],
)
def test_bad_input(fn, value, exc, pattern):
    with pytest.raises(exc, match=pattern):
        fn(value)


def test_ranges_are_exported():
    assert materials.SI_RANGE_NM[0] <= 1450.0 and materials.SI_RANGE_NM[1] >= 1650.0
    assert materials.SIO2_RANGE_NM[0] <= 1450.0 and materials.SIO2_RANGE_NM[1] >= 1650.0
