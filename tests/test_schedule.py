"""mapping.performance.schedule: hand-computed tiles, cycles and energy; roofline and monotonicity invariants."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from accel import Accelerator, presets
from mapping.performance import shape_zoo
from mapping.performance.schedule import COMPONENTS, assign_vdus, map_model, tiling

# Round numbers so every energy below can be written out by hand.
TINY = {
    "architecture.vdus_per_unit": 2, "architecture.units": 3, "architecture.bit_rate_gbps": 1.0,
    "wavelength.channel_spacing_nm": 1.0,
    "laser.fixed_optical_power_per_wavelength_mw": 1.0, "laser.wall_plug_efficiency": 0.5,
    "tuning.fixed_power_per_ring_mw": 0.1, "tuning.eo_settle_ns": 20.0,
    "energy.activation_modulation_fj_per_bit": 10.0, "energy.weight_program_fj_per_ring": 20.0,
    "receiver.tia_power_mw": 2.0,
    "converters.adc_fom_fj_per_step": 10.0, "converters.dac_energy_pj_per_conversion": 1.0,
    "memory.read_energy_fj_per_bit": 100.0, "memory.write_energy_fj_per_bit": 200.0,
    "electronics.accumulator_add_energy_fj": 3.0, "electronics.op_energy_fj": 7.0,
}
ROBIN_EO = presets.load("robin-eo").with_values({  # the papers' cell: typed-in energies, no weight-ring hold power
    "eo.activation_mechanism": "assumed", "eo.weight_mechanism": "assumed", "wavelength.bit0_shift_fraction_of_spacing": 0.5,
    "energy.activation_modulation_fj_per_bit": 10.0, "energy.weight_program_fj_per_ring": 20.0})


def tiny(n: int, **changes) -> Accelerator:
    return Accelerator(ROBIN_EO.with_values({**TINY, "architecture.wavelengths_per_vdu": n, **changes}))


def receiver_bias_w(acc) -> float:
    """Static receiver power, written out: per VDU the TIA's 2 mW and two photodiodes at 1 V x
    (0.9 A/W x the budget's received power x N/2 + 10 nA)."""
    cfg = acc.config
    received = acc.components.laser.budget.received_power_per_wavelength_w
    return cfg.M * cfg.units * (2e-3 + 2 * 1.0 * (0.9 * received * cfg.N / 2 + 10e-9))


def test_linear_layer_k_above_n_by_hand():
    acc = tiny(4)
    rep = map_model(nn.Linear(10, 5, bias=False), acc, (1, 10))
    row = rep.layers.iloc[0]
    # K = 10 on N = 4: 3 chunks (4, 4, 2); 5 outputs on M = 2: 3 groups; 9 tasks >= 3 units:
    # 3 rounds of 1 position each -> 3 cycles; each round first reloads weights (20 ns).
    assert (row.n_chunks, row.rounds, row.replicas, row.cycles) == (3, 3, 1, 3)
    assert rep.latency_s == pytest.approx(3 * 1e-9 + 3 * 20e-9, rel=1e-12)
    expected = {
        "laser": 12 * (1e-3 / 0.5) * 63e-9,  # N*units = 12 lines at 2 mW electrical
        "tuning": 48 * 0.1e-3 * 63e-9,  # 4*2*3*2 = 48 rings at 0.1 mW
        "modulation": 50 * 10e-15,  # 5 dot products x 10 activation bits
        "weight_programming": 50 * 20e-15,  # 5 weight vectors x 10 rings, loaded once
        "receiver": receiver_bias_w(acc) * 63e-9,  # bias for the whole run, no comparator use
        "adc_dac": 15 * 10e-15 * 2**3,  # 15 conversions of 3 bits (N + 1 = 5 levels)
        "accumulation": 10 * 3e-15 + 5 * 7e-15,  # 2 partial-sum adds and 1 digital threshold per output
        "memory": (30 + 50) * 100e-15 + 5 * 200e-15,  # reads: 10 bits x 3 groups + 50 weights; 5 outputs
        "electronic": 0.0,
    }
    for key, value in expected.items():
        assert rep.breakdown[key] == pytest.approx(value, rel=1e-12, abs=1e-30), key
    assert rep.energy_j == pytest.approx(sum(expected.values()), rel=1e-12)
    assert rep.binary_macs == 50
    assert rep.energy_per_bit_j == pytest.approx(sum(expected.values()) / 50, rel=1e-12)
    assert row.adc_conversions == 15 and row.comparator_decisions == 0


def test_conv_layer_k_at_most_n_uses_comparator_and_replicas():
    acc = tiny(16)
    rep = map_model(nn.Conv2d(1, 2, 3, bias=False), acc, (1, 1, 6, 6))
    row = rep.layers.iloc[0]
    # K = 9 <= 16: one chunk; 2 outputs fill one group of M = 2 -> 1 task on 3 units: 3 replicas
    # share the 16 positions, ceil(16/3) = 6 cycles after one weight load.
    assert (row.n_chunks, row.rounds, row.replicas, row.cycles) == (1, 1, 3, 6)
    assert rep.latency_s == pytest.approx(6e-9 + 20e-9, rel=1e-12)
    assert row.adc_conversions == 0 and row.comparator_decisions == 32
    assert rep.breakdown["adc_dac"] == pytest.approx(6 * 1e-12, rel=1e-12)  # threshold DAC per loaded VDU
    # The comparator is a 1-bit ADC at the 10 fJ/step figure of merit: 2 * 10 fJ per decision.
    assert rep.breakdown["receiver"] == pytest.approx(receiver_bias_w(acc) * 26e-9 + 32 * 2 * 10e-15, rel=1e-12, abs=0.0)
    assert rep.breakdown["weight_programming"] == pytest.approx(2 * 9 * 3 * 20e-15, rel=1e-12)
    assert rep.breakdown["memory"] == pytest.approx((16 * 9 + 54) * 100e-15 + 32 * 200e-15, rel=1e-12)
    assert rep.breakdown["laser"] == pytest.approx(48 * 2e-3 * 26e-9, rel=1e-12)
    assert rep.utilisation == pytest.approx(288 / (16 * 2 * 3 * 6), rel=1e-12)


def test_assign_vdus_by_hand():
    acc = tiny(4)
    a = assign_vdus(acc, out_channels=5, k=10)
    oc = np.arange(5)[:, None]
    chunk = np.arange(3)[None, :]
    # task = (oc // 2) * 3 + chunk on 3 units: unit = task % 3 = chunk, round = task // 3 = oc // 2.
    np.testing.assert_array_equal(a.unit[:, :, 0], np.broadcast_to(chunk, (5, 3)))
    np.testing.assert_array_equal(a.vdu[:, :, 0], np.broadcast_to(oc % 2, (5, 3)))
    np.testing.assert_array_equal(a.round, np.broadcast_to(oc // 2, (5, 3)))
    np.testing.assert_array_equal(a.chunk_start, [0, 4, 8])
    np.testing.assert_array_equal(a.chunk_len, [4, 4, 2])
    b = assign_vdus(tiny(16), out_channels=2, k=9, positions=16)
    assert b.replicas == 3
    np.testing.assert_array_equal(b.unit[:, 0, :], [[0, 1, 2], [0, 1, 2]])
    np.testing.assert_array_equal(b.replica_of(np.arange(4)), [0, 1, 2, 0])


@settings(max_examples=60, deadline=None)
@given(c=st.integers(1, 40), k=st.integers(1, 300), p=st.integers(1, 50),
       n=st.integers(1, 16), m=st.integers(1, 6), u=st.integers(1, 12))
def test_assignment_uses_each_vdu_once_per_round(c, k, p, n, m, u):
    acc = Accelerator(ROBIN_EO.with_values({"architecture.wavelengths_per_vdu": n, "architecture.vdus_per_unit": m,
                                            "architecture.units": u, "wavelength.channel_spacing_nm": 1.0}))
    a = assign_vdus(acc, out_channels=c, k=k, positions=p)
    assert a.unit.shape == (c, a.n_chunks, a.replicas) and a.round.shape == (c, a.n_chunks)
    assert a.unit.min() >= 0 and a.unit.max() < u and a.vdu.max() < m
    rounds = np.broadcast_to(a.round[:, :, None], a.unit.shape)
    slots = np.stack([rounds.ravel(), a.unit.ravel(), a.vdu.ravel()], axis=1)
    assert len(np.unique(slots, axis=0)) == slots.shape[0]  # no VDU holds two weight vectors at once
    assert a.rounds == a.round.max() + 1
    assert a.chunk_len.sum() == k and a.chunk_len.max() <= n and a.chunk_len.min() >= 1
    assert a.replicas <= p and a.replicas * a.cycles_per_round >= p


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.c2 = nn.Conv2d(8, 8, 3, padding=1, bias=False)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, 10)

    def forward(self, x):
        y = self.c1(x)
        return self.fc(self.pool(self.c2(y) + y).flatten(1))


MODEL = Tiny()
SHAPE = (1, 3, 12, 12)

config_st = st.fixed_dictionaries({
    "architecture.wavelengths_per_vdu": st.integers(1, 64),
    "architecture.vdus_per_unit": st.integers(1, 32),
    "architecture.units": st.integers(1, 200),
    "architecture.bit_rate_gbps": st.sampled_from([0.5, 1.0, 5.0, 10.0, 50.0]),
})


def accel_from(values, name="robin-eo") -> Accelerator:
    return Accelerator(presets.load(name).with_values({**values, "wavelength.channel_spacing_nm": 0.25}))


@settings(max_examples=40, deadline=None)
@given(values=config_st, name=st.sampled_from(["robin-eo", "lightbulb"]))
def test_fps_never_above_roofline(values, name):
    acc = accel_from(values, name)
    rep = map_model(MODEL, acc, SHAPE, tuning_power_w=0.0)
    roofline = (values["architecture.wavelengths_per_vdu"] * values["architecture.vdus_per_unit"]
                * values["architecture.units"] * values["architecture.bit_rate_gbps"] * 1e9 / rep.binary_macs)
    assert rep.fps <= roofline * (1 + 1e-12)
    assert rep.utilisation <= 1 + 1e-12


@settings(max_examples=40, deadline=None)
@given(values=config_st)
def test_doubling_units_never_slows_a_layer(values):
    one = map_model(MODEL, accel_from(values), SHAPE, tuning_power_w=0.0).layers
    doubled = {**values, "architecture.units": 2 * values["architecture.units"]}
    two = map_model(MODEL, accel_from(doubled), SHAPE, tuning_power_w=0.0).layers
    assert np.all(two.latency_s.to_numpy() <= one.latency_s.to_numpy() * (1 + 1e-12))


@settings(max_examples=30, deadline=None)
@given(values=config_st, batch=st.integers(1, 3), tuning_w=st.floats(0.0, 10.0))
def test_report_totals_are_consistent(values, batch, tuning_w):
    rep = map_model(MODEL, accel_from(values), (batch, 3, 12, 12), tuning_power_w=tuning_w)
    assert set(rep.breakdown) == set(COMPONENTS)
    assert sum(rep.breakdown.values()) == pytest.approx(rep.energy_j, rel=1e-12)
    assert rep.static_energy_j + rep.dynamic_energy_j == pytest.approx(rep.energy_j, rel=1e-12)
    assert rep.breakdown["tuning"] == pytest.approx(tuning_w * rep.latency_s / batch, rel=1e-12, abs=1e-30)
    assert rep.layers.energy_j.sum() == pytest.approx(rep.energy_j * batch, rel=1e-12)
    assert rep.layers.latency_s.sum() == pytest.approx(rep.latency_s, rel=1e-12)
    assert rep.fps * rep.latency_s == pytest.approx(batch, rel=1e-12)
    assert rep.power_w == pytest.approx(rep.energy_j * batch / rep.latency_s, rel=1e-12)
    assert rep.energy_per_bit_j == pytest.approx(rep.energy_j / rep.binary_macs, rel=1e-12)


@settings(max_examples=30, deadline=None)
@given(k=st.integers(1, 200), n=st.integers(1, 64))
def test_adc_only_when_k_exceeds_n(k, n):
    acc = accel_from({"architecture.wavelengths_per_vdu": n})
    row = map_model(nn.Linear(k, 4, bias=False), acc, (1, k), tuning_power_w=0.0).layers.iloc[0]
    if k <= n:
        assert row.adc_conversions == 0 and row.comparator_decisions == 4 and row.n_chunks == 1
    else:
        assert row.comparator_decisions == 0 and row.adc_conversions == 4 * -(-k // n)


def test_streamed_weights_have_no_reload_time():
    acc = Accelerator(presets.load("lightbulb"))
    rep = map_model(nn.Linear(100, 30, bias=False), acc, (1, 100), tuning_power_w=0.0)
    row = rep.layers.iloc[0]
    assert row.weight_reloads == 0
    assert rep.latency_s == pytest.approx(row.cycles / 50e9, rel=1e-12)


def test_electronic_layer_latency_and_energy():
    layer = nn.Linear(64, 32)
    layer.electronic = True
    acc = tiny(4)
    rep = map_model(layer, acc, (1, 64))
    el = acc.config.electronics
    macs = 64 * 32
    assert rep.latency_s == pytest.approx(macs / (el.macs_per_ns * 1e9), rel=1e-12)
    # MACs plus 8-bit reads of inputs and weights and writes of outputs.
    mem = (64 + 64 * 32) * 8 * 100e-15 + 32 * 8 * 200e-15
    assert rep.breakdown["electronic"] == pytest.approx(macs * el.mac_energy_fj * 1e-15, rel=1e-12)
    assert rep.breakdown["memory"] == pytest.approx(mem, rel=1e-12)
    assert rep.binary_macs == 0 and np.isnan(rep.energy_per_bit_j)


def test_resnet18_on_robin_po_report_fields():
    model = shape_zoo.build("resnet18")
    acc = Accelerator(presets.load("robin-po"))
    rep = map_model(model, acc, shape_zoo.input_shape("resnet18"), tuning_power_w=0.0)
    for name in ("latency_s", "fps", "energy_j", "energy_per_bit_j", "binary_macs", "power_w"):
        assert np.isfinite(getattr(rep, name)) and getattr(rep, name) > 0
    assert len(rep.layers) == 68 and len(rep.flagged_layers) == 21
    for col in ("cycles", "latency_s", "energy_j", "utilisation", "runs_on"):
        assert col in rep.layers.columns
    assert rep.fps <= acc.peak_binary_macs_per_s / rep.binary_macs  # roofline


def test_bad_arguments():
    acc = tiny(4)
    with pytest.raises(ValueError, match="tuning_power_w=-1.0"):
        map_model(nn.Linear(4, 2), acc, (1, 4), tuning_power_w=-1.0)
    with pytest.raises(TypeError, match="accel.Accelerator"):
        map_model(nn.Linear(4, 2), "robin-eo", (1, 4))
    with pytest.raises(ValueError, match="out_channels=0"):
        assign_vdus(acc, out_channels=0, k=3)


def test_tiling_broadcasts_over_configurations():
    t = tiling(k=[10, 9], out_channels=[5, 2], positions=[1, 16], n=[[4], [16]], m=2, units=3)
    assert t["cycles"].shape == (2, 2)
    assert t["cycles"][0, 0] == 3 and t["cycles"][1, 1] == 6


def test_batch_replaces_the_batch_dimension_and_reuses_the_weights():
    """batch=B equals tracing on a (B, ...) input; weights load once per round for the whole batch,
    so B images take less than B times one image's latency (the reloads are shared) and EPB falls."""
    acc = tiny(4)
    layer = nn.Linear(10, 5, bias=False)
    one = map_model(layer, acc, (1, 10))
    eight = map_model(layer, acc, (1, 10), batch=8)
    traced = map_model(layer, acc, (8, 10))
    assert eight.batch == 8 and eight.latency_s == traced.latency_s and eight.energy_j == traced.energy_j
    # 3 rounds, each one 20 ns reload then 8 positions of 1 ns: 3 * (20 + 8) ns, against 8 * 63 ns one by one
    assert eight.latency_s == pytest.approx(3 * (20e-9 + 8e-9), rel=1e-12)
    assert eight.fps > one.fps and eight.energy_per_bit_j < one.energy_per_bit_j
    assert map_model(layer, acc, (8, 10), batch=8).latency_s == eight.latency_s
    with pytest.raises(ValueError, match="batch=8 and input_shape"):
        map_model(layer, acc, (4, 10), batch=8)
    with pytest.raises(ValueError, match="batch"):
        map_model(layer, acc, (1, 10), batch=0)
