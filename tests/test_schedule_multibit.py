"""k-bit layers as bit-plane passes in the scheduler: counts against closed forms written from N, M, units
(mapping.performance.schedule's docstring), the busiest VDU against an enumeration of assign_vdus, energy and
latency invariants, the accumulator range and layer tables."""
from collections import OrderedDict

import numpy as np
import pandas as pd
import pytest
from torch import nn

from accel import Accelerator, presets
from mapping.networks.layers import BinaryConv2d, BinaryLinear, Sign, electronic
from mapping.networks.quant import ActQuant, QuantConv2d, QuantLinear
from mapping.performance.schedule import assign_vdus, busiest_vdu_adds, map_model
from mapping.performance.workload import extract_workload, from_table

N, M, U = 4, 2, 3
BIT_S, RELOAD_S, ADD_S = 1e-9, 20e-9, 1e-9  # 1 Gb/s, 20 ns EO weight settle, one 1-add/ns accumulator per VDU
CONFIG = presets.load("robin-eo").with_values({
    "eo.activation_mechanism": "assumed", "eo.weight_mechanism": "assumed", "wavelength.bit0_shift_fraction_of_spacing": 0.5,
    "architecture.wavelengths_per_vdu": N, "architecture.vdus_per_unit": M, "architecture.units": U,
    "architecture.bit_rate_gbps": 1.0, "wavelength.channel_spacing_nm": 1.0, "tuning.eo_settle_ns": 20.0,
    "energy.activation_modulation_fj_per_bit": 10.0, "energy.weight_program_fj_per_ring": 20.0,
    "electronics.accumulators_per_vdu": 1, "electronics.accumulator_adds_per_ns": 1.0,
})
BITS = [(1, 1), (2, 2), (3, 1), (2, 3)]
# (name, builder(ka, kw), input shape, K, C, P): K < N and K > N, linear and conv; P includes the batch.
LAYERS = [
    ("linear-k3", lambda ka, kw: QuantLinear(3, 5, act_bits=ka, weight_bits=kw), (2, 3), 3, 5, 2),
    ("linear-k10", lambda ka, kw: QuantLinear(10, 5, act_bits=ka, weight_bits=kw), (1, 10), 10, 5, 1),
    ("conv-k2", lambda ka, kw: QuantConv2d(2, 2, 1, act_bits=ka, weight_bits=kw), (1, 2, 4, 4), 2, 2, 16),
    ("conv-k8", lambda ka, kw: QuantConv2d(2, 3, 2, act_bits=ka, weight_bits=kw), (1, 2, 4, 4), 8, 3, 9),
]


@pytest.fixture(scope="module")
def acc():
    return Accelerator(CONFIG)


def ceil_div(a, b):
    return -(-a // b)


def closed_form(k, c, p, ka, kw, out_bits):
    """The spec's counts for one k-bit layer (groups = 1) on N, M, U; ``out_bits`` 0: raw integer output."""
    nc, ng = ceil_div(k, N), ceil_div(c, M)
    tasks = nc * ng
    reps, rounds = (1, ceil_div(tasks, U)) if tasks >= U else (min(U // tasks, p), 1)
    pi, d = ka * kw, c * p
    write = out_bits if out_bits else (k * (2**ka - 1) * (2**kw - 1)).bit_length() + 1
    weights = c * k * reps * kw
    return {
        "n_chunks": nc, "rounds": rounds, "replicas": reps, "passes": pi, "cycles": rounds * ceil_div(p, reps) * pi,
        "weight_reloads": rounds * kw, "adc_conversions": d * nc * pi, "comparator_decisions": 0,
        "partial_sum_adds": d * (nc * pi - 1), "binary_macs": d * k * pi, "logical_macs": d * k,
        "xnor_cell.modulate": d * k * pi, "xnor_cell.program_weight": weights, "dac.convert": 0,
        "comparator.convert": 0, "adc.convert": d * nc * pi, "accumulator.accumulate": d * (nc * pi - 1),
        "electronics.compare": d * out_bits, "buffer.read": p * k * ng * ka * kw + weights, "buffer.write": d * write,
    }


def with_activation(layer, follow):
    bn = nn.BatchNorm1d(layer.out_features) if isinstance(layer, nn.Linear) else nn.BatchNorm2d(layer.out_channels)
    parts = [("q", layer), ("bn", bn)]
    if follow == "sign":
        parts.append(("act", Sign()))
    elif follow is not None:
        parts.append(("act", ActQuant(follow)))
    return nn.Sequential(OrderedDict(parts))


def oracle_busiest_adds(k, c, p, passes, acc):
    """Adds per (unit, vdu) enumerated from assign_vdus over all rounds: ``passes`` results per position served,
    each added except a dot product's very first (chunk 0); the largest."""
    a = assign_vdus(acc, out_channels=c, k=k, positions=p)
    adds = {}
    for o in range(c):
        for chunk in range(a.n_chunks):
            for r in range(a.replicas):
                slot = (int(a.unit[o, chunk, r]), int(a.vdu[o, chunk, r]))
                served = len(range(r, p, a.replicas))
                adds[slot] = adds.get(slot, 0) + served * passes - served * (chunk == 0)
    return max(adds.values())


@pytest.mark.parametrize("ka,kw", BITS)
@pytest.mark.parametrize("name,build,shape,k,c,p", LAYERS, ids=[x[0] for x in LAYERS])
@pytest.mark.parametrize("follow,out_bits", [("sign", 1), (3, 3), (None, 0)])
def test_counts_match_the_closed_form(acc, name, build, shape, k, c, p, ka, kw, follow, out_bits):
    rep = map_model(with_activation(build(ka, kw), follow), acc, shape)
    row = rep.layers.iloc[0]
    assert (row.k, row.out_channels, row.positions) == (k, c, p)
    assert (row.weight_bits, row.act_bits, row.out_bits) == (kw, ka, out_bits)
    for key, value in closed_form(k, c, p, ka, kw, out_bits).items():
        assert row[key] == value, key
    assert row.partial_sum_adds_per_vdu == oracle_busiest_adds(k, c, p, ka * kw, acc)
    batch = shape[0]  # report totals are per image
    assert rep.binary_macs * batch == c * p * k * ka * kw and rep.logical_macs * batch == c * p * k
    assert rep.layers.iloc[1:].energy_j.sum() == 0.0  # BatchNorm and the activation fold into the thresholds


def test_one_case_by_hand(acc):
    rep = map_model(with_activation(QuantLinear(10, 5, act_bits=2, weight_bits=3), 2), acc, (1, 10))
    row = rep.layers.iloc[0]
    # K = 10 on N = 4: 3 chunks; 5 outputs on M = 2: 3 groups; 9 tasks on 3 units: 3 rounds of one position.
    # 6 passes: 3 rounds x 1 position x 6 = 18 cycles; 3 weight planes per round: 9 loads.
    assert (row.n_chunks, row.rounds, row.cycles, row.weight_reloads) == (3, 3, 18, 9)
    # 5 dot products x 3 chunks x 6 passes = 90 conversions, 89 of them added (5 x 17 = 85 adds).
    assert (row.adc_conversions, row.partial_sum_adds) == (90, 85)
    # unit u holds chunk u of every group: unit 0 (chunk 0) adds 5 per round, the others 6: 3 rounds x 6 = 18.
    assert row.partial_sum_adds_per_vdu == 18
    assert row["electronics.compare"] == 10 and row["buffer.write"] == 10  # 2-bit codes: 2 compares, 2 bits each


@pytest.mark.parametrize("k,c,p", [(3, 5, 2), (10, 5, 1), (9, 7, 5), (17, 1, 8), (2, 2, 16)])
@pytest.mark.parametrize("passes", [1, 2, 3, 6])
def test_busiest_vdu_adds_equals_the_enumeration(acc, k, c, p, passes):
    assert int(busiest_vdu_adds(k, c, p, N, M, U, passes)) == oracle_busiest_adds(k, c, p, passes, acc)


@pytest.mark.parametrize("name,build,shape,k,c,p", LAYERS, ids=[x[0] for x in LAYERS])
def test_one_by_one_quant_layer_is_the_binary_layer_with_an_adc(acc, name, build, shape, k, c, p):
    q = map_model(with_activation(build(1, 1), "sign"), acc, shape).layers.iloc[0]
    q_layer = build(1, 1)
    binary = (BinaryLinear(q_layer.in_features, q_layer.out_features) if isinstance(q_layer, nn.Linear)
              else BinaryConv2d(q_layer.in_channels, q_layer.out_channels, q_layer.kernel_size))
    b = map_model(with_activation(binary, "sign"), acc, shape).layers.iloc[0]
    for key in ("cycles", "weight_reloads", "xnor_cell.modulate", "xnor_cell.program_weight", "binary_macs", "n_chunks"):
        assert q[key] == b[key], key
    assert q.adc_conversions == c * p * ceil_div(k, N) and q.comparator_decisions == 0 and q["dac.convert"] == 0
    if k <= N:
        assert b.comparator_decisions == c * p and b.adc_conversions == 0
    else:
        assert b.adc_conversions == q.adc_conversions


@pytest.mark.parametrize("ka,kw", BITS)
def test_energy_parts_sum_and_latency_scales_with_passes(acc, ka, kw):
    k, c, p = 8, 3, 9
    rep = map_model(with_activation(QuantConv2d(2, 3, 2, act_bits=ka, weight_bits=kw), 2), acc, (1, 2, 4, 4))
    row = rep.layers.iloc[0]
    assert sum(rep.breakdown.values()) == pytest.approx(rep.energy_j, rel=1e-12)
    parts = [c for c in rep.layers.columns if c.startswith("energy_") and c != "energy_j"]
    np.testing.assert_allclose(rep.layers[parts].sum(axis=1), rep.layers.energy_j, rtol=1e-12)
    comps = acc.components
    dynamic = sum(row[key] * comps.action(key).energy_j for key in comps.action_keys)
    static = sum(comps.static_power_w().values()) * row.latency_s
    assert row.energy_j == pytest.approx(dynamic + static, rel=1e-12)
    # binary tiling of (8, 3, 9): 2 chunks x 2 groups = 4 tasks on 3 units -> 2 rounds of 9 positions
    optical_s = 2 * 9 * ka * kw * BIT_S + 2 * kw * RELOAD_S
    assert row.optical_s == pytest.approx(optical_s, rel=1e-12)
    assert row.accumulation_s == pytest.approx(oracle_busiest_adds(k, c, p, ka * kw, acc) * ADD_S, rel=1e-12)
    assert row.latency_s == pytest.approx(max(optical_s, row.accumulation_s), rel=1e-12)
    assert rep.energy_per_bit_j == pytest.approx(rep.energy_j / (c * p * k * ka * kw), rel=1e-12)


def test_streamed_weights_write_every_pass():
    lb = Accelerator(presets.load("lightbulb"))
    n = lb.N
    k, c = n + 3, 5
    rep = map_model(with_activation(QuantLinear(k, c, act_bits=2, weight_bits=3), 2), lb, (4, k))
    row = rep.layers.iloc[0]
    assert row.weight_reloads == 0
    assert row["xnor_cell.program_weight"] == c * 4 * k * 6 == row["xnor_cell.modulate"]


def test_binary_layer_feeding_a_k_bit_code_digitises(acc):
    row = map_model(with_activation(BinaryLinear(3, 5), 2), acc, (2, 3)).layers.iloc[0]
    assert (row.passes, row.out_bits, row.comparator_decisions, row["dac.convert"]) == (1, 2, 0, 0)
    assert row.adc_conversions == 10 and row["electronics.compare"] == 20 and row["buffer.write"] == 20


def test_accumulator_range_is_checked(acc):
    narrow = Accelerator(CONFIG.with_values({"electronics.accumulator_bits": 8}))  # signed sums up to 127
    check = narrow.components.accumulator.check_fits
    assert check(14, "fc", act_bits=2, weight_bits=2) == 14  # 14 x 3 x 3 = 126
    with pytest.raises(ValueError, match=r"layer 'fc': K=15 at 2-bit activations x 2-bit weights reaches "
                                         r"\|A\| = 135, a 9-bit signed sum.*accumulator_bits=8"):
        check(15, "fc", act_bits=2, weight_bits=2)
    assert check(255, "fc") == 255  # binary popcounts keep the unsigned rule
    with pytest.raises(TypeError, match="give both"):
        check(4, "fc", act_bits=2)
    model = lambda k: nn.Sequential(OrderedDict([("fc", QuantLinear(k, 2, act_bits=2, weight_bits=2))]))  # noqa: E731
    assert map_model(model(14), narrow, (1, 14)).layers.iloc[0].n_chunks == 4
    with pytest.raises(ValueError, match=r"layer 'fc': K=15 at 2-bit"):
        map_model(model(15), narrow, (1, 15))


def test_layer_table_gives_the_traced_workload(acc):
    module = nn.Sequential(OrderedDict([
        ("c1", QuantConv2d(2, 3, 2, act_bits=2, weight_bits=3)), ("bn1", nn.BatchNorm2d(3)), ("q1", ActQuant(2)),
        ("flat", nn.Flatten()), ("fc", QuantLinear(27, 5, act_bits=2, weight_bits=2)),
    ]))
    table = from_table(pd.DataFrame([
        {"name": "c1", "type": "conv", "in_channels": 2, "out_channels": 3, "kernel": 2, "input_size": 4,
         "weight_bits": 3, "act_bits": 2},
        {"name": "fc", "type": "linear", "in_channels": 27, "out_channels": 5, "weight_bits": 2, "act_bits": 2},
    ]))
    traced = [x for x in extract_workload(module, (1, 2, 4, 4)).layers if x.kind in ("conv", "linear")]
    fields = ("name", "kind", "runs_on", "k", "out_channels", "positions", "dot_products", "weight_shape", "binary",
              "quantized", "flagged", "weight_bits", "act_bits", "out_bits", "passes", "binary_macs", "logical_macs")
    assert [[getattr(x, f) for f in fields] for x in table.layers] == [[getattr(x, f) for f in fields] for x in traced]
    assert [x.out_bits for x in table.layers] == [2, 0]
    a, b = map_model(table, acc).layers, map_model(module, acc, (1, 2, 4, 4)).layers
    b = b[b.kind.isin(["conv", "linear"])].reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize("column,value,needle", [
    ("weight_bits", 0, "weight_bits=0 is out of range; allowed: an integer in [1, 7]"),
    ("act_bits", 8, "act_bits=8 is out of range; allowed: an integer in [1, 7]"),
    ("act_bits", "two", "act_bits='two' is not an integer"),
])
def test_table_bit_widths_are_validated(column, value, needle):
    row = {"name": "fc", "type": "linear", "in_channels": 8, "out_channels": 4, column: value}
    with pytest.raises(ValueError, match=needle.replace("[", r"\[").replace("]", r"\]")):
        from_table(pd.DataFrame([row]))
    with pytest.raises(ValueError, match="row 1 .'fc'.: weight_bits=2 is above 1; allowed: empty or 1 for an electronic row"):
        from_table(pd.DataFrame([{"name": "fc", "type": "linear", "in_channels": 8, "out_channels": 4,
                                  "electronic": True, "weight_bits": 2}]))


def test_act_quant_after_an_electronic_layer_runs_electronically():
    module = nn.Sequential(OrderedDict([("fc1", electronic(nn.Linear(6, 4, bias=False))), ("q", ActQuant(2)),
                                        ("fc2", QuantLinear(4, 3, act_bits=2, weight_bits=1))]))
    fc1, q, fc2 = extract_workload(module, (5, 6)).layers
    assert (fc1.runs_on, fc1.quantized, q.kind, q.runs_on, q.ops) == ("electronic", False, "activation", "electronic", 20)
    assert (fc2.runs_on, fc2.quantized, fc2.binary, fc2.flagged, fc2.passes, fc2.out_bits) == ("optical", True, False,
                                                                                                False, 2, 0)
