"""mapping.performance.schedule: hand-computed tiles, cycles and energy; roofline and monotonicity invariants."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from accel import Accelerator, presets
from mapping.performance import shape_zoo
from mapping.performance.schedule import (COMPONENTS, activation_read_pairs, assign_vdus, busiest_vdu_adds, map_model,
                                         schedule_workload, tiling)
from mapping.performance.workload import LayerWork, Workload

# Round numbers so every energy below can be written out by hand.
TINY = {
    "architecture.vdus_per_unit": 2, "architecture.units": 3, "architecture.bit_rate_gbps": 1.0,
    "wavelength.channel_spacing_nm": 1.0,
    "laser.fixed_optical_power_per_wavelength_mw": 1.0, "laser.wall_plug_efficiency": 0.5,
    "tuning.fixed_power_per_ring_mw": 0.1, "tuning.eo_settle_ns": 20.0,
    "energy.activation_modulation_fj_per_bit": 10.0, "energy.weight_program_fj_per_ring": 20.0,
    "receiver.tia_power_mw": 2.0, "receiver.tia_reference_rate_gbps": 1.0,  # the TIA quoted at TINY's 1 Gb/s
    "converters.adc_fom_fj_per_step": 10.0, "converters.dac_energy_pj_per_conversion": 1.0,
    "converters.adc_fom_corner_gsps": 1.0,  # 1 GS/s conversions at the corner: the FOM below it, 10 fJ/step
    "memory.read_energy_fj_per_bit": 100.0, "memory.write_energy_fj_per_bit": 200.0,
    "electronics.accumulator_add_energy_fj": 3.0, "electronics.op_energy_fj": 7.0,
    "electronics.accumulators_per_vdu": 1,  # one adder per VDU, so the accumulator bound shows at 1 add/ns
}
ROBIN_EO = presets.load("robin-eo").with_values({  # the papers' cell: typed-in energies, no weight-ring hold power
    "eo.activation_mechanism": "assumed", "eo.weight_mechanism": "assumed", "wavelength.bit0_shift_fraction_of_spacing": 0.5,
    "tuning.eo_settle_ns": 20.0,
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
    # 0.25 nm fits up to 64 channels in the FSR; the schedule never reads the optics, so the grid may be denser
    # than the presets' 3 linewidths (robin-eo FWHM 0.26 nm, LightBulb 0.71 nm: 0.3 x 0.71 < 0.25)
    return Accelerator(presets.load(name).with_values({**values, "wavelength.channel_spacing_nm": 0.25,
                                                       "wavelength.min_spacing_linewidths": 0.3}))


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
    one_adder = presets.load("lightbulb").with_values({"electronics.accumulators_per_vdu": 1})
    rep = map_model(nn.Linear(100, 30, bias=False), Accelerator(one_adder), (1, 100), tuning_power_w=0.0)
    row = rep.layers.iloc[0]
    assert row.weight_reloads == 0
    assert row.optical_s == pytest.approx(row.cycles / 50e9, rel=1e-12)
    # K = 100 on N = 16: 7 chunks x 8 groups = 56 tasks on 227 units, one position: the busiest VDU
    # adds one chunk result, 1 ns at 1 add/ns with one adder, longer than the one 20 ps cycle.
    assert (row.cycles, row.partial_sum_adds_per_vdu, row.bound) == (1, 1, "accumulator")
    assert rep.latency_s == pytest.approx(1e-9, rel=1e-12)
    # the preset's 50 adders per VDU (50 Gb/s over 1 add/ns) take that add in 1/50 ns: one 20 ps cycle
    rep = map_model(nn.Linear(100, 30, bias=False), Accelerator(presets.load("lightbulb")), (1, 100), tuning_power_w=0.0)
    assert rep.latency_s == pytest.approx(20e-12, rel=1e-12)


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


# ------------------------------------------------------------------------------ partial-sum accumulators
def test_existing_hand_layer_is_optical_bound():
    # test_linear_layer_k_above_n_by_hand: unit = chunk, so units 1 and 2 add one chunk result per
    # round on VDU 0 (3 rounds): 3 adds at 1 add/ns = 3 ns, well under the 63 ns optical time.
    row = map_model(nn.Linear(10, 5, bias=False), tiny(4), (1, 10)).layers.iloc[0]
    assert (row.partial_sum_adds, row.partial_sum_adds_per_vdu, row.bound) == (10, 3, "optical")
    assert row.accumulation_s == pytest.approx(3e-9, rel=1e-12) and row.latency_s == pytest.approx(63e-9, rel=1e-12)


# Linear(12, 4) on N = 4, M = 2, U = 3 with a batch of 10: 3 chunks x 2 groups = 6 tasks, unit g % 3,
# 2 rounds of 10 positions. Unit 0 holds tasks 0 and 3 (chunk 0 of both groups: no adds); units 1 and 2
# hold two chunk-1 or chunk-2 tasks: 2 x 10 = 20 adds on each of their VDUs. Optical time: 20 cycles of
# 1 ns plus 2 weight loads of 20 ns = 60 ns.
ACC_LAYER, ACC_SHAPE = nn.Linear(12, 4, bias=False), (10, 12)


@pytest.mark.parametrize("changes,acc_ns,latency_ns,bound", [
    ({"electronics.accumulator_adds_per_ns": 0.25}, 80.0, 80.0, "accumulator"),  # 20 adds / 0.25 per ns
    ({"electronics.accumulator_adds_per_ns": 0.25, "electronics.accumulators_per_vdu": 2}, 40.0, 60.0, "optical"),
    ({}, 20.0, 60.0, "optical"),  # 20 adds / 1 per ns
])
def test_accumulator_bound_by_hand(changes, acc_ns, latency_ns, bound):
    rep = map_model(ACC_LAYER, tiny(4, **changes), ACC_SHAPE)
    row = rep.layers.iloc[0]
    assert (row.n_chunks, row.rounds, row.replicas, row.cycles) == (3, 2, 1, 20)
    assert row.optical_s == pytest.approx(60e-9, rel=1e-12)
    assert row.partial_sum_adds_per_vdu == 20 and row.bound == bound
    assert row.accumulation_s == pytest.approx(acc_ns * 1e-9, rel=1e-12)
    assert rep.latency_s == pytest.approx(latency_ns * 1e-9, rel=1e-12)
    # Energy: 40 dot products x 2 adds at 3 fJ plus 40 digital thresholds at 7 fJ, whatever the bound;
    # the static laser power (12 lines at 2 mW) is drawn for the whole latency.
    assert rep.breakdown["accumulation"] * 10 == pytest.approx(80 * 3e-15 + 40 * 7e-15, rel=1e-12)
    assert row["accumulator.accumulate"] == 80
    assert rep.breakdown["laser"] * 10 == pytest.approx(12 * 2e-3 * latency_ns * 1e-9, rel=1e-12)


@settings(max_examples=40, deadline=None)
@given(k=st.integers(2, 120), c=st.integers(1, 12), p=st.integers(1, 12), n=st.integers(1, 16),
       per_vdu=st.integers(1, 4), rate=st.sampled_from([0.01, 0.1, 1.0]))
def test_doubling_accumulators_halves_accumulation_time(k, c, p, n, per_vdu, rate):
    def row(a):
        return map_model(nn.Linear(k, c, bias=False), tiny(n, **{"electronics.accumulators_per_vdu": a,
                                                              "electronics.accumulator_adds_per_ns": rate}), (p, k)).layers.iloc[0]

    one, two = row(per_vdu), row(2 * per_vdu)
    assert two.accumulation_s == pytest.approx(one.accumulation_s / 2, rel=1e-12, abs=0.0)
    assert two.optical_s == one.optical_s and two.latency_s <= one.latency_s
    assert one.latency_s == pytest.approx(max(one.optical_s, one.accumulation_s), rel=1e-15)
    if one.bound == "accumulator" and two.bound == "accumulator":
        assert two.latency_s == pytest.approx(one.latency_s / 2, rel=1e-12)


def test_model_without_partial_sums_ignores_the_accumulator():
    """Every optical layer with K <= N: no adds, so the accumulator's speed and count change nothing."""
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.Hardtanh(),  # K = 9
                          nn.Conv2d(4, 4, 2, stride=2, bias=False), nn.Conv2d(4, 1, 1, bias=False),  # K = 16, 4
                          nn.Flatten(), nn.Linear(9, 10, bias=False))  # K = 9
    reports = [map_model(model, tiny(16, **changes), (2, 1, 6, 6)) for changes in (
        {}, {"electronics.accumulator_adds_per_ns": 1e3}, {"electronics.accumulator_adds_per_ns": 1e-3},
        {"electronics.accumulators_per_vdu": 1024})]
    ref = reports[0]
    assert (ref.layers.k[ref.layers.runs_on == "optical"] <= 16).all()
    assert set(ref.layers.bound[ref.layers.runs_on == "optical"]) == {"optical"}
    assert (ref.layers.partial_sum_adds == 0).all() and (ref.layers.accumulation_s == 0).all()
    for rep in reports[1:]:
        assert rep.latency_s == ref.latency_s and rep.energy_j == ref.energy_j and rep.breakdown == ref.breakdown


@settings(max_examples=80, deadline=None)
@given(c=st.integers(1, 30), k=st.integers(1, 200), p=st.integers(1, 20),
       n=st.integers(1, 16), m=st.integers(1, 6), u=st.integers(1, 12))
def test_busiest_vdu_adds_equals_a_count_over_the_assignment(c, k, p, n, m, u):
    """Count, from assign_vdus, the chunk results each VDU adds (every chunk but chunk 0, on the
    positions of its replica): the maximum is busiest_vdu_adds, the total the adds energy is charged for."""
    acc = Accelerator(ROBIN_EO.with_values({"architecture.wavelengths_per_vdu": n, "architecture.vdus_per_unit": m,
                                            "architecture.units": u, "wavelength.channel_spacing_nm": 1.0}))
    a = assign_vdus(acc, out_channels=c, k=k, positions=p)
    adds = {}
    for o in range(c):
        for chunk in range(1, a.n_chunks):
            for r in range(a.replicas):
                slot = (int(a.unit[o, chunk, r]), int(a.vdu[o, chunk, r]))
                adds[slot] = adds.get(slot, 0) + len(range(r, p, a.replicas))
    assert sum(adds.values()) == c * p * (a.n_chunks - 1)
    assert busiest_vdu_adds(k, c, p, n, m, u) == max(adds.values(), default=0)


def test_accumulator_width_is_checked():
    # 8-bit register: popcounts up to 255. K = 255 on N = 4 fits; K = 256 needs 9 bits.
    acc = tiny(4, **{"electronics.accumulator_bits": 8})
    assert map_model(nn.Linear(255, 2, bias=False), acc, (1, 255)).layers.iloc[0].n_chunks == 64
    with pytest.raises(ValueError, match=r"layer 'Linear': K=256 needs a 9-bit partial sum.*accumulator_bits=8"):
        map_model(nn.Linear(256, 2, bias=False), acc, (1, 256))
    # K <= N has no partial sum: the comparator decides, the width does not apply.
    narrow = tiny(16, **{"electronics.accumulator_bits": 4})  # popcounts up to 15
    assert map_model(nn.Linear(16, 2, bias=False), narrow, (1, 16)).layers.iloc[0].n_chunks == 1
    with pytest.raises(ValueError, match="layer 'fc'.*K=300"):
        Accelerator(ROBIN_EO.with_values({"electronics.accumulator_bits": 8})).components.accumulator.check_fits(300, "fc")


# ------------------------------------------------------------------------------ grouped convolutions
def test_groups_must_divide_out_channels():
    work = Workload(layers=(LayerWork(name="odd", kind="conv", runs_on="optical", k=9, out_channels=4, positions=2,
                                      dot_products=8, groups=3),), input_shape=(1, 3, 4, 4))
    with pytest.raises(ValueError, match="layer 'odd': groups=3 does not divide out_channels=4"):
        schedule_workload(work, tiny(16), tuning_power_w=0.0)


def test_depthwise_conv_reads_each_channels_inputs():
    acc = tiny(16)
    rep = map_model(nn.Conv2d(4, 4, 3, groups=4, bias=False), acc, (1, 4, 6, 6))
    row = rep.layers.iloc[0]
    # 4 channels, each with its own 3x3 inputs (K = 9) at each of the 4x4 = 16 output positions: 4 * 16 * 9
    # bits, twice what one broadcast chunk per VDU group (ceil(4/2) = 2 groups) would read.
    assert (row.k, row.positions, row.groups) == (9, 16, 4)
    assert row.activation_read_bits == 4 * 16 * 9
    # K = 9 <= 16: 2 groups of M = 2 -> 2 tasks, each replicated on 1 unit (3 // 2): every weight ring once.
    assert row["buffer.read"] == 4 * 16 * 9 + 4 * 9 * row.replicas


def test_grouped_conv_equals_its_groups_and_groups_1_the_ordinary_conv():
    acc = tiny(16)
    grouped = map_model(nn.Conv2d(4, 4, 3, groups=2, bias=False), acc, (1, 4, 6, 6)).layers.iloc[0]
    single = map_model(nn.Conv2d(2, 2, 3, bias=False), acc, (1, 2, 6, 6)).layers.iloc[0]
    # C/groups = 2 = M: each VDU group lies in one convolution group, so the grouped conv reads what
    # its two separate 2 -> 2 convs read together, P * K * 1 each.
    assert grouped.activation_read_bits == 2 * single.activation_read_bits == 2 * 16 * 18
    one = map_model(nn.Conv2d(4, 4, 3, groups=1, bias=False), acc, (1, 4, 6, 6)).layers
    plain = map_model(nn.Conv2d(4, 4, 3, bias=False), acc, (1, 4, 6, 6)).layers
    assert one.iloc[0].activation_read_bits == 16 * 36 * 2  # P * K * ceil(C/M)
    assert one.drop(columns="name").equals(plain.drop(columns="name"))


@settings(max_examples=100, deadline=None)
@given(per_group=st.integers(1, 12), groups=st.integers(1, 12), m=st.integers(1, 16))
def test_activation_read_pairs_counts_vdu_and_conv_groups(per_group, groups, m):
    c = per_group * groups
    pairs = {(o // m, o // per_group) for o in range(c)}
    assert activation_read_pairs(c, groups, m) == len(pairs)


def test_activation_read_pairs_by_hand():
    # C = 8 in 2 groups of 4, M = 3: VDU groups {0,1,2} {3,4,5} {6,7}; the middle one spans both conv groups.
    assert activation_read_pairs(8, 2, 3) == 4
    assert activation_read_pairs(8, 1, 3) == 3 and activation_read_pairs(8, 8, 3) == 8


@pytest.mark.slow
def test_mobilenet_v2_activation_reads_by_hand():
    """Sum over the convs and the classifier of P * K * (C for a depthwise conv, ceil(C/M) otherwise)
    on robin-eo (M = 10), with P, K and C read off the torch modules and their outputs."""
    model = shape_zoo.build("mobilenet-v2").eval()
    shape = shape_zoo.input_shape("mobilenet-v2")
    rep = map_model(model, Accelerator(presets.load("robin-eo")), shape, tuning_power_w=0.0)
    expected = []

    def record(mod, args, out):
        c = out.shape[1]
        if isinstance(mod, nn.Conv2d):
            k = mod.in_channels // mod.groups * mod.kernel_size[0] * mod.kernel_size[1]
            reads_per_position = c if mod.groups == mod.in_channels == c > 1 else -(-c // 10)
            expected.append(out.numel() // c * k * reads_per_position)
        else:
            expected.append(out.shape[0] * mod.in_features * -(-c // 10))

    hooks = [mod.register_forward_hook(record) for mod in model.modules() if isinstance(mod, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        model(torch.zeros(shape))
    for hook in hooks:
        hook.remove()
    assert sum(m.groups > 1 for m in model.modules() if isinstance(m, nn.Conv2d)) == 17  # one depthwise conv per block
    assert int(rep.layers.activation_read_bits.sum()) == sum(expected)
