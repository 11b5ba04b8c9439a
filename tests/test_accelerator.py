"""accel.Accelerator: inventory counts, floorplan contract (index order, pitches), area."""
import numpy as np
import pytest

from accel import Accelerator, presets


def small(name="robin-eo", **changes) -> Accelerator:
    values = {"architecture.wavelengths_per_vdu": 4, "architecture.vdus_per_unit": 3, "architecture.units": 5}
    values.update(changes)
    return Accelerator(presets.load(name).with_values(values))


def test_inventory_hand_counts():
    inv = small().inventory
    # N=4, M=3, units=5: 60 cells; one laser line per channel per unit; one PD/TIA/comparator/ADC/DAC
    # per VDU (15); a 1:3 splitter tree is 2 splitters per unit; activation + weight buffer per unit;
    # five partial-sum accumulators per VDU (the preset's accumulators_per_vdu = 5: 5 Gb/s over 1 add per ns).
    assert inv.as_dict() == {
        "activation_rings": 60, "weight_rings": 60, "other_rings": 0, "laser_wavelengths": 20, "balanced_pds": 15,
        "tias": 15, "comparators": 15, "adcs": 15, "dacs": 15, "splitters": 10, "buffers": 10, "accumulators": 75,
    }
    assert inv.total_rings == 120


def test_lightbulb_cell_has_a_third_ring():
    inv = small("lightbulb").inventory
    assert inv.other_rings == 60 and inv.total_rings == 180


def test_floorplan_index_order_is_the_contract():
    acc = small()
    fp = acc.floorplan
    n = 5 * 3 * 4 * 2
    assert fp.n_rings == n and fp.shape == (5, 3, 4, 2)
    unit, vdu, channel, role = np.unravel_index(np.arange(n), (5, 3, 4, 2))
    for got, want in ((fp.unit, unit), (fp.vdu, vdu), (fp.channel, channel), (fp.role, role)):
        np.testing.assert_array_equal(got, want)
    assert fp.xy_um.shape == (n, 2)
    np.testing.assert_array_equal(fp.xy_um[:, 0], fp.x_um)
    np.testing.assert_array_equal(fp.xy_um[:, 1], fp.y_um)
    np.testing.assert_array_equal(fp.channels_nm, acc.config.channels_nm)
    with pytest.raises(ValueError):
        fp.x_um[0] = 0.0


def test_floorplan_pitches():
    acc = small()
    fp = acc.floorplan
    x = fp.x_um.reshape(fp.shape)
    y = fp.y_um.reshape(fp.shape)
    # robin-eo: outer diameter of the 800 nm wide, 5 um radius weight ring 2*5 + 0.8 = 10.8 um; ring gap 5 um,
    # VDU gap 14.2 um (edge to edge) -> pitches 15.8 um and 25 um
    along_bus = x.reshape(5, 3, 8)  # act 0, weight 0, act 1, ... along each VDU
    np.testing.assert_allclose(np.diff(along_bus, axis=-1), 15.8)
    np.testing.assert_allclose(np.ptp(y, axis=(2, 3)), 0.0)  # one VDU = one bus pair
    np.testing.assert_allclose(np.diff(y[:, :, 0, 0], axis=1), 25.0)


def test_units_do_not_overlap_and_lie_on_the_die():
    acc = small(**{"architecture.units": 7})
    fp = acc.floorplan
    boxes = [(fp.x_um[fp.unit == u], fp.y_um[fp.unit == u]) for u in range(7)]
    margin = acc.config.floorplan.unit_margin_um
    for i in range(7):
        for j in range(i + 1, 7):
            (xi, yi), (xj, yj) = boxes[i], boxes[j]
            gap_x = max(xj.min() - xi.max(), xi.min() - xj.max())
            gap_y = max(yj.min() - yi.max(), yi.min() - yj.max())
            assert max(gap_x, gap_y) >= 2 * margin
    assert fp.x_um.min() > 0 and fp.x_um.max() < fp.die_width_um
    assert fp.y_um.min() > 0 and fp.y_um.max() < fp.die_height_um


def test_area_by_hand():
    acc = small()
    c = acc.config
    # unit: (2*margin + N*2*ring_pitch) x (2*margin + M*vdu_pitch) um; pitch = outer diameter 10.8 um
    # (2*5 um + 800 nm weight ring) + edge-to-edge gap (5 um along a bus, 14.2 um between VDUs)
    width = 2 * 100.0 + 4 * 2 * (10.8 + 5.0)
    height = 2 * 100.0 + 3 * (10.8 + 14.2)
    f = c.floorplan
    assert (f.unit_margin_um, f.ring_gap_um, f.vdu_gap_um, f.ring_pitch_um, f.vdu_pitch_um) == (100.0, 5.0, 14.2, None, None)
    a = c.area
    expected = (5 * width * height * 1e-6 + 15 * 2 * a.pd_mm2 + 15 * a.adc_mm2 + 15 * a.dac_mm2 + 10 * a.splitter_mm2
                + 10 * a.buffer_mm2 + a.electronics_mm2 + 75 * a.accumulator_mm2)  # five accumulators per VDU
    assert acc.area_mm2 == pytest.approx(expected, rel=1e-12)
    assert sum(acc.area_breakdown_mm2.values()) == pytest.approx(acc.area_mm2, rel=1e-12)


def test_peak_throughput_is_n_m_units_bit_rate():
    acc = Accelerator(presets.load("robin-po"))
    c = acc.config
    assert acc.peak_binary_macs_per_s == c.N * c.M * c.units * c.bit_rate_gbps * 1e9
    assert acc.vdus == c.M * c.units


def test_rejects_non_config():
    with pytest.raises(TypeError, match="AcceleratorConfig"):
        Accelerator({"name": "robin-eo"})
