"""The ``robinsim`` command line (also ``python -m studies``).

Subcommands: ``run`` (main report), ``mc`` (Monte Carlo versus a variation level), ``sweep``
(design-space exploration), ``sensitivity`` (which declared parameter range decides a metric),
``map`` (energy and speed of a layer table, CSV or YAML), ``optimize`` (multi-objective design
search within the declared ranges), ``hybrid`` (edge-cloud early-exit networks), ``plot`` (redraw figures from saved results), ``presets``.
Bad arguments print one line on stderr and exit with status 2, without a traceback (set the
environment variable ``ROBINSIM_TRACEBACK=1`` to see it).
Heavy modules (torch, the simulators) are imported only by the subcommand that needs them.
"""
from __future__ import annotations

import argparse
import os
import re
import sys

__all__ = ["main", "build_parser", "DEFAULT_OUT"]

#: Default output directory of ``robinsim run`` (``mc`` and ``sweep`` write to sub-folders).
DEFAULT_OUT = "robinsim-out"
DEFAULT_PRESETS = ("robin-eo", "robin-po", "lightbulb")
DEFAULT_MODEL = "mnist-cnn"


class UsageError(Exception):
    """A bad command-line argument (printed as one line, exit status 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line instead of usage + message
        raise UsageError(f"{self.prog}: error: {message} (see '{self.prog} --help')")


def _resume_options(p, resume_help: str, *, what: str = "run") -> None:
    """``--resume`` (help ``resume_help``) and ``--overwrite`` of a checkpointed command (``what``: its noun)."""
    p.add_argument("--resume", action="store_true", help=resume_help)
    p.add_argument("--overwrite", action="store_true",
                   help=f"discard the checkpoint of an earlier {what} in --out (without it or --resume, such a "
                        "directory is refused)")


def _int_at_least(lo: int, name: str):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name}={text!r} is not an integer") from None
        if value < lo:
            raise argparse.ArgumentTypeError(f"{name}={value} is out of range; allowed: >= {lo}")
        return value

    return parse


def _percent(name: str):
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name}={text!r} is not a number; allowed: a percentage 0 to 100") from None
        if not 0.0 <= value <= 100.0:
            raise argparse.ArgumentTypeError(f"{name}={value:g} is out of range; allowed: 0 to 100 (percent)")
        return value

    return parse


def _float_list(text: str, flag: str = "--levels") -> list[float]:
    """'0,2,4' or 'start:stop:count' (inclusive, evenly spaced; count >= 1); errors name ``flag``."""
    bad = argparse.ArgumentTypeError(f"{flag} {text!r} is not a comma-separated list of numbers or start:stop:count")
    if ":" in text:
        parts = text.split(":")
        if len(parts) != 3:
            raise bad
        try:
            start, stop, n = float(parts[0]), float(parts[1]), int(parts[2])
        except ValueError:
            raise bad from None
        if n < 1:
            raise argparse.ArgumentTypeError(f"{flag} {text!r}: count {n} is out of range; allowed: start:stop:count "
                                             "with count >= 1")
        if n == 1:
            return [start]
        step = (stop - start) / (n - 1)
        return [start + i * step for i in range(n)]
    items = text.split(",")
    if any(not v.strip() for v in items):
        raise argparse.ArgumentTypeError(f"{flag} {text!r} has an empty item; allowed: numbers separated by commas")
    try:
        return [float(v) for v in items]
    except ValueError:
        raise bad from None


def _join_negative_values(argv: list[str]) -> list[str]:
    """``--levels -2,0,2`` as ``--levels=-2,0,2`` (also ``--thresholds``): argparse would read a
    leading '-' as an option."""
    out = []
    for tok in argv:
        if out and out[-1] in ("--levels", "--thresholds") and re.match(r"^-[0-9.]", tok):
            out[-1] = f"{out[-1]}={tok}"
        else:
            out.append(tok)
    return out


def _common(p, *, out_default: str, chips: int, images: int | None, multi_preset: bool, presets, min_chips=1):
    p.add_argument("--out", default=out_default, metavar="DIR",
                   help=f"output directory, created if missing (default: {out_default})")
    if multi_preset:
        p.add_argument("--preset", nargs="+", default=list(presets), metavar="NAME",
                       help=f"accelerator preset names or TOML files (default: {' '.join(presets)})")
    else:
        p.add_argument("--preset", default=None, metavar="NAME",
                       help=f"base accelerator preset name or TOML file (default: the sweep file's preset, "
                            f"else {presets[0]})")
    p.add_argument("--model", default=DEFAULT_MODEL, metavar="NAME",
                   help=f"shipped BNN checkpoint name or checkpoint file (default: {DEFAULT_MODEL})")
    p.add_argument("--chips", type=_int_at_least(min_chips, "--chips"),
                   default=chips, metavar="N", help=f"sampled chips per configuration (default: {chips})")
    p.add_argument("--images", type=_int_at_least(1, "--images"), default=images, metavar="N",
                   help="use the first N MNIST test images "
                        f"(default: {'all 10,000' if images is None else images})")
    p.add_argument("--seed", type=_int_at_least(0, "--seed"), default=0, metavar="S",
                   help="root seed; chip k draws from SeedSequence(S).spawn(k+1)[k] (default: 0)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="Dask scheduler address (e.g. tcp://host:8786); default: run in this process")
    p.add_argument("--quiet", action="store_true",
                   help="no progress bars (they are off anyway when stderr is not a terminal); the summary is still printed")
    p.add_argument("--no-figures", dest="figures", action="store_false",
                   help="write the tables only; draw the figures later with 'robinsim plot DIR'")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``robinsim`` (all subcommands)."""
    parser = _Parser(prog="robinsim", description=(
        "Simulate ROBIN-style optical binary-neural-network accelerators built from microring "
        "resonators: energy per bit, latency, throughput and accuracy under fabrication and thermal variation."))
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    p = sub.add_parser("run", help="main report: energy, speed and accuracy of presets under variation",
                       description="Map the BNN onto each preset, sample chips under fabrication and thermal "
                                   "variation, and write report.md, report.json, results.csv and figures.")
    _common(p, out_default=DEFAULT_OUT, chips=20, images=None, multi_preset=True, presets=DEFAULT_PRESETS)
    p.add_argument("--vary", default="post_lock_drift_k", metavar="PARAM",
                   help="variation parameter of the accuracy-versus-variation figure (see 'robinsim mc --help'; "
                        "default: post_lock_drift_k, the ambient drift after the one-time lock)")
    p.add_argument("--levels", type=_float_list, default=None, metavar="LIST",
                   help="its levels as '0,2,4' or 'start:stop:count' (default: 0,0.5,1,2,3); min(--chips, 3) chips "
                        "per level on the first 500 images")
    p.add_argument("--compare", nargs="+", default=[], metavar="MODEL",
                   help="other versions of --model (checkpoint names or files: e.g. mnist-cnn-mixed mnist-cnn-fp) "
                        "compared with it on every preset: accuracy under variation, energy per image, EPB, FPS "
                        "(report section 'Precision', precision.csv)")
    _resume_options(p, "continue an interrupted run in --out (finished chips are not recomputed; a larger --chips "
                        "adds only the missing chips)", what="run")

    p = sub.add_parser("mc", help="Monte Carlo of accuracy and tuning power versus a variation level",
                       description="Sweep one variation level and sample chips at each level; finished chips are "
                                   "checkpointed so --resume continues an interrupted run.")
    _common(p, out_default=os.path.join(DEFAULT_OUT, "mc"), chips=10, images=2000, multi_preset=True,
            presets=("robin-eo",))
    p.add_argument("--vary", default="width_sigma_nm", metavar="PARAM",
                   help="variation parameter: width_sigma_nm, thickness_sigma_nm, variation_scale, "
                        "temperature_offset_k, temperature_sigma_k; what tuning leaves behind: gap_sigma_nm, "
                        "post_lock_drift_k, laser_drift_pm, lock_residual_pm, heater_dac_bits; or any "
                        "variation.<field> / thermal.<field> (list them with 'robinsim sweep --fields'; a dotted "
                        "field needs --levels; default: width_sigma_nm)")
    p.add_argument("--levels", type=_float_list, default=None, metavar="LIST",
                   help="levels as '0,2,4' or 'start:stop:count' (default: a range suited to --vary)")
    _resume_options(p, "continue an interrupted run in --out (finished chips are not recomputed; a larger --chips "
                        "adds only the missing chips)", what="run")

    p = sub.add_parser("sweep", help="design-space exploration over configuration fields",
                       description="Evaluate every combination of the given configuration values: energy per bit, "
                                   "FPS, power, area and (with --chips > 0) accuracy; write a tidy table and "
                                   "Pareto figures.")
    _common(p, out_default=os.path.join(DEFAULT_OUT, "sweep"), chips=2, images=1000, multi_preset=False,
            presets=("robin-eo",), min_chips=0)
    p.add_argument("--set", dest="assignments", action="append", default=[], metavar="FIELD=V1,V2",
                   help="values of one configuration field (repeatable), e.g. --set N=8,10,16 --set bit_rate_gbps=5,10")
    p.add_argument("--file", default=None, metavar="TOML",
                   help="sweep file with a [grid] table of field = [values] (see 'robinsim sweep --fields')")
    p.add_argument("--fields", action="store_true", help="list the sweepable fields and exit")
    p.add_argument("--min-accuracy", dest="min_accuracy", type=_percent("--min-accuracy"), default=None, metavar="PCT",
                   help="keep designs whose mean accuracy is below PCT percent (0-100) off the Pareto fronts of the "
                        "report and figures (drawn as grey crosses); needs --chips >= 1")
    _resume_options(p, "continue an interrupted sweep in --out (finished design points are not recomputed; any "
                        "other grid or argument is refused, naming what changed)", what="sweep")

    p = sub.add_parser("sensitivity", help="which declared parameter range decides a metric (tornado, Morris, Sobol)",
                       description="Vary the preset's declared parameter ranges ([ranges] table) one at a time (oat: "
                                   "each at its low and high end) or globally with SALib (morris, sobol), on energy "
                                   "per bit, FPS, power, area or (oat only) accuracy; optionally as the ratio "
                                   "metric(OTHER)/metric(PRESET) and solved for a target. Writes sensitivity.csv, "
                                   "sensitivity.json and a tornado figure (PNG + PDF).")
    p.add_argument("--preset", default="robin-eo", metavar="NAME|PATH",
                   help="accelerator preset name or TOML file whose [ranges] are varied (default: robin-eo)")
    p.add_argument("--metric", default="epb", choices=("epb", "fps", "power", "area", "accuracy"),
                   help="epb (J/bit), fps, power (W), area (mm2) of the workload at batch 1, or accuracy "
                        "(mean over --chips chips on --images images, with its standard error; oat only) "
                        "(default: epb)")
    p.add_argument("--method", default="oat", choices=("oat", "morris", "sobol"),
                   help="oat: each parameter at its low and high end, the others nominal; morris: SALib elementary "
                        "effects, N*(D+1) evaluations; sobol: SALib Saltelli/Sobol' indices S1 and ST, N*(D+2) "
                        "evaluations (default: oat)")
    p.add_argument("--ratio-to", dest="ratio_to", default=None, metavar="OTHER",
                   help="analyse metric(OTHER)/metric(PRESET) instead (e.g. --preset robin-eo --ratio-to lightbulb: "
                        "LightBulb's EPB over robin-eo's); a parameter both declare is varied in both "
                        "(column applied_to)")
    p.add_argument("--target", type=float, default=None, metavar="X",
                   help="for each parameter, the value that alone brings the ratio (or metric, in its SI unit) to X, "
                        "or 'not reachable within its range' (e.g. --target 933, ROBIN's claim)")
    p.add_argument("--n-base", dest="n_base", type=_int_at_least(2, "--n-base"), default=None, metavar="N",
                   help="base sample size of morris (trajectories, default 8) or sobol (a power of two, default 64); "
                        "stated in the output")
    p.add_argument("--parameters", default=None, metavar="KEYS",
                   help="comma-separated declared 'section.field' names to vary (default: every declared range)")
    p.add_argument("--model", default=DEFAULT_MODEL, metavar="NAME",
                   help=f"workload: shipped BNN checkpoint name or checkpoint file (default: {DEFAULT_MODEL})")
    p.add_argument("--chips", type=_int_at_least(1, "--chips"), default=2, metavar="N",
                   help="accuracy only: sampled chips per configuration (default: 2)")
    p.add_argument("--images", type=_int_at_least(1, "--images"), default=200, metavar="N",
                   help="accuracy only: the first N MNIST test images (default: 200)")
    p.add_argument("--seed", type=_int_at_least(0, "--seed"), default=0, metavar="S",
                   help="root seed: SALib sampler and bootstrap seeds from SeedSequence(S).spawn(2), chips of "
                        "accuracy as in mc (default: 0)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="Dask scheduler address (e.g. tcp://host:8786); default: run in this process (same results)")
    p.add_argument("--out", default=os.path.join(DEFAULT_OUT, "sensitivity"), metavar="DIR",
                   help=f"output directory, created if missing (default: {os.path.join(DEFAULT_OUT, 'sensitivity')})")
    p.add_argument("--quiet", action="store_true",
                   help="no progress bars (they are off anyway when stderr is not a terminal); the summary is still printed")
    p.add_argument("--no-figures", dest="figures", action="store_false", help="write the tables only")

    p = sub.add_parser("map", help="energy per bit, FPS and latency of a layer table (CSV or YAML) on a preset",
                       description="Schedule a layer table (one row per conv/linear layer: type, in_channels, "
                                   "out_channels, kernel, stride, padding, groups, input_size; see "
                                   "mapping.from_table) onto an accelerator preset; print the per-layer table and "
                                   "the totals (energy per bit, FPS, latency, energy breakdown) and write "
                                   "layers.csv and summary.json to --out. No BNN, MNIST or Monte Carlo is needed.")
    p.add_argument("--layers", required=True, metavar="FILE",
                   help="layer table, .csv or .yaml/.yml: columns name, type (conv, conv2d, dwconv, depthwise, "
                        "linear, fc), in_channels, out_channels, kernel (or kernel_h, kernel_w), stride (default 1), "
                        "padding (default 0), groups (default 1), input_size (or input_h, input_w), electronic "
                        "(true/false, default false); pooling, residual, BatchNorm, activation, attention and "
                        "recurrent rows are refused")
    p.add_argument("--preset", default="robin-eo", metavar="NAME|PATH",
                   help="accelerator preset name or TOML file (default: robin-eo)")
    p.add_argument("--batch", type=_int_at_least(1, "--batch"), default=1, metavar="B",
                   help="images per pass: each round's weights serve all B images (default: 1; energy and EPB per "
                        "image, latency of the batch)")
    p.add_argument("--out", default=os.path.join(DEFAULT_OUT, "map"), metavar="DIR",
                   help=f"output directory, created if missing (default: {os.path.join(DEFAULT_OUT, 'map')})")

    p = sub.add_parser("optimize", help="multi-objective design search over declared parameter ranges (NSGA-II)",
                       description="Search chosen preset fields, each within its declared range ([ranges] table), "
                                   "with optuna's NSGA-II for designs of lowest energy per bit and highest FPS (or "
                                   "power, area), optionally subject to a mean accuracy over --chips chips on --images "
                                   "images. One generation is asked, evaluated (here or on Dask) and told at a time, "
                                   "so a seed gives the same trials everywhere; each generation is checkpointed. "
                                   "Writes trials.csv, pareto.csv, optimize.json, best.toml (the best-EPB feasible "
                                   "design as a preset that loads) and a Pareto figure (PNG + PDF).")
    p.add_argument("--preset", default="robin-eo", metavar="NAME|PATH",
                   help="accelerator preset name or TOML file whose declared ranges bound the search (default: robin-eo)")
    p.add_argument("--fields", default=None, metavar="KEYS",
                   help="comma-separated declared 'section.field' names to search (default: the declared ones of "
                        "ring widths and losses, heater power per FSR and lock time, injection carrier lifetime "
                        "(weight reload), depletion efficiency and capacitance, coupler loss; at least 8)")
    p.add_argument("--objectives", default="epb,fps", metavar="LIST",
                   help="comma-separated objectives: epb (minimise J/bit), fps (maximise), power (minimise W), "
                        "area (minimise mm2) (default: epb,fps)")
    p.add_argument("--min-accuracy", dest="min_accuracy", type=float, default=None, metavar="X",
                   help="constraint: mean accuracy (a fraction, e.g. 0.97) over --chips chips on --images images "
                        "(each trial's chips from its own seed); default: no constraint, no accuracy evaluated")
    p.add_argument("--chips", type=_int_at_least(1, "--chips"), default=2, metavar="N",
                   help="with --min-accuracy: sampled chips per trial (default: 2)")
    p.add_argument("--images", type=_int_at_least(1, "--images"), default=200, metavar="N",
                   help="with --min-accuracy: the first N MNIST test images (default: 200)")
    p.add_argument("--trials", type=_int_at_least(1, "--trials"), default=200, metavar="N",
                   help="total trials (default: 200)")
    p.add_argument("--generation-size", dest="generation_size", type=_int_at_least(2, "--generation-size"),
                   default=20, metavar="N", help="trials per generation, the NSGA-II population (default: 20)")
    p.add_argument("--model", default=DEFAULT_MODEL, metavar="NAME",
                   help=f"workload: shipped BNN checkpoint name or checkpoint file (default: {DEFAULT_MODEL})")
    p.add_argument("--seed", type=_int_at_least(0, "--seed"), default=0, metavar="S",
                   help="root seed: sampler, per-trial and preset seeds from SeedSequence(S).spawn(3) (default: 0)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="Dask scheduler address (e.g. tcp://host:8786); default: run in this process (same results)")
    p.add_argument("--out", default=os.path.join(DEFAULT_OUT, "optimize"), metavar="DIR",
                   help=f"output directory, created if missing (default: {os.path.join(DEFAULT_OUT, 'optimize')})")
    _resume_options(p, "continue an interrupted run in --out (finished generations are replayed, not recomputed; "
                        "the final files are those of an uninterrupted run)", what="run")
    p.add_argument("--quiet", action="store_true",
                   help="no progress bars (they are off anyway when stderr is not a terminal); the summary is still printed")
    p.add_argument("--no-figures", dest="figures", action="store_false", help="write the tables only")

    p = sub.add_parser("hybrid", help="edge-cloud early-exit network: exits, accuracy and energy versus threshold",
                       description="Run a conditionally deep hybrid network (binarized edge trunk and exit heads on the "
                                   "accelerator, full-precision layers in the cloud) on sampled chips; a sample leaves "
                                   "at the first edge exit whose softmax entropy (nats) is below the threshold. Writes "
                                   "hybrid.csv (one row per threshold and chip: exit fractions, accuracy, edge/link/"
                                   "cloud energy, latency, reduction against the all-cloud full-precision baseline), "
                                   "hybrid.json and two figures (PNG + PDF).")
    p.add_argument("--preset", default="robin-eo", metavar="NAME|PATH",
                   help="accelerator preset name or TOML file of the edge (default: robin-eo)")
    p.add_argument("--model", default="mnist-hybrid", metavar="NAME|PATH",
                   help="shipped hybrid checkpoint name or checkpoint file (default: mnist-hybrid)")
    p.add_argument("--thresholds", type=lambda text: _float_list(text, "--thresholds"), default="0:2:11", metavar="LIST",
                   help="entropy thresholds in nats as '0,0.5,1' or 'start:stop:count', each >= 0 (default: 0:2:11)")
    p.add_argument("--chips", type=_int_at_least(1, "--chips"), default=2, metavar="N",
                   help="sampled chips (default: 2)")
    p.add_argument("--images", type=_int_at_least(1, "--images"), default=None, metavar="N",
                   help="use the first N test images (default: all)")
    p.add_argument("--seed", type=_int_at_least(0, "--seed"), default=0, metavar="S",
                   help="root seed; chip k draws from SeedSequence(S).spawn(k+1)[k] (default: 0)")
    p.add_argument("--data", default=None, metavar="PATH",
                   help="folder of the CIFAR-10 python batches (test_batch); needs a CIFAR --model (default: MNIST)")
    p.add_argument("--cloud", default=None, metavar="NAME|PATH", help="cloud processor configuration (default: accel.cloud's)")
    p.add_argument("--link", default=None, metavar="NAME|PATH", help="edge-to-cloud link configuration (default: accel.link's)")
    p.add_argument("--out", default=os.path.join(DEFAULT_OUT, "hybrid"), metavar="DIR",
                   help=f"output directory, created if missing (default: {os.path.join(DEFAULT_OUT, 'hybrid')})")
    p.add_argument("--overwrite", action="store_true", help="replace the hybrid.csv of an earlier run in --out")
    p.add_argument("--quiet", action="store_true",
                   help="no progress bars (they are off anyway when stderr is not a terminal); the summary is still printed")
    p.add_argument("--no-figures", dest="figures", action="store_false", help="write the tables only")

    p = sub.add_parser("plot", help="redraw the figures of saved results without recomputing",
                       description="Redraw the figures of a finished run, mc, sweep, sensitivity or optimize from "
                                   "its saved tables.")
    p.add_argument("results", metavar="RESULTS",
                   help="output directory of a run, mc, sweep, sensitivity or optimize (or a file in it)")
    p.add_argument("--out", default=None, metavar="DIR", help="where to write the figures (default: RESULTS)")

    p = sub.add_parser("presets", help="list the shipped accelerator presets, or show one resolved",
                       description="List the shipped accelerator presets with their main parameters; with --show, "
                                   "print one preset's resolved configuration (TOML), its file and content hash.")
    p.add_argument("--show", default=None, metavar="NAME|PATH",
                   help="a preset name or TOML file: print its resolved configuration, the file(s) it is read from "
                        "and the sha256 of the configuration")
    return parser


def _progress(args) -> bool:
    """Progress bars unless ``--quiet``, and only on a terminal (piped logs get no ``\\r`` lines)."""
    return not args.quiet and sys.stderr.isatty()


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    if isinstance(exc, KeyError):
        text = text.strip("\"'")
    return text or type(exc).__name__


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``robinsim`` console script; returns the exit status."""
    argv = _join_negative_values(sys.argv[1:] if argv is None else list(argv))
    try:
        args = build_parser().parse_args(argv)
    except UsageError as exc:
        print(exc, file=sys.stderr)
        return 2
    try:
        return _dispatch(args)
    except KeyboardInterrupt:
        hint = " (rerun with --resume to continue)" if args.command in ("run", "mc", "sweep", "optimize") else ""
        print(f"robinsim {args.command}: interrupted{hint}", file=sys.stderr)
        return 130
    except (ValueError, TypeError, OSError, KeyError) as exc:
        if os.environ.get("ROBINSIM_TRACEBACK"):
            raise
        text = _one_line(exc)
        out = getattr(args, "out", None)
        if isinstance(exc, OSError) and out and exc.filename and str(exc.filename).startswith(str(out)):
            text = f"--out {str(out)!r}: {exc.strerror or text} ({exc.filename})"
        print(f"robinsim {args.command}: error: {text}", file=sys.stderr)
        return 2


def _dispatch(args) -> int:
    if args.command == "presets":
        from studies.report import presets_table, show_preset

        print(show_preset(args.show) if args.show else presets_table(), end="\n" if not args.show else "")
        return 0
    if args.command == "plot":
        from studies.figures import redraw

        for path in redraw(args.results, args.out):
            print(path)
        return 0
    from mapping.functional import keep_freed_memory

    keep_freed_memory()  # the simulators' large transient arrays reuse their pages (mapping.functional.allocator)
    if args.command == "run":
        from studies.commands import main_run

        main_run(out=args.out, presets=args.preset, model=args.model, chips=args.chips, seed=args.seed,
                 images=args.images, scheduler=args.scheduler, resume=args.resume, progress=_progress(args),
                 echo=True, vary=args.vary, levels=args.levels, figures=args.figures, overwrite=args.overwrite,
                 compare=args.compare)
        return 0
    if args.command == "mc":
        from studies.commands import main_mc

        main_mc(out=args.out, presets=args.preset, model=args.model, chips=args.chips, seed=args.seed,
                images=args.images, parameter=args.vary, levels=args.levels, scheduler=args.scheduler,
                resume=args.resume, progress=_progress(args), echo=True, figures=args.figures,
                overwrite=args.overwrite)
        return 0
    if args.command == "sweep":
        if args.fields:
            from studies.sweep import fields_table

            print(fields_table())
            return 0
        from studies.commands import main_sweep

        main_sweep(out=args.out, preset=args.preset, model=args.model, chips=args.chips, seed=args.seed,
                         images=args.images, assignments=args.assignments, file=args.file,
                         scheduler=args.scheduler, progress=_progress(args), echo=True,
                         figures=args.figures, min_accuracy_pct=args.min_accuracy, resume=args.resume,
                         overwrite=args.overwrite)
        return 0
    if args.command == "map":
        from studies.commands import main_map

        main_map(out=args.out, layers=args.layers, preset=args.preset, batch=args.batch, echo=True)
        return 0
    if args.command == "sensitivity":
        from studies.commands import main_sensitivity

        main_sensitivity(out=args.out, preset=args.preset, metric=args.metric, method=args.method,
                         ratio_to=args.ratio_to, target=args.target, n_base=args.n_base,
                         parameters=None if args.parameters is None else
                         [k.strip() for k in args.parameters.split(",") if k.strip()],
                         model=args.model, chips=args.chips, images=args.images, seed=args.seed,
                         scheduler=args.scheduler, progress=_progress(args), echo=True, figures=args.figures)
        return 0
    if args.command == "optimize":
        from studies.commands import main_optimize

        main_optimize(out=args.out, preset=args.preset,
                      fields=None if args.fields is None else [k.strip() for k in args.fields.split(",") if k.strip()],
                      objectives=args.objectives, min_accuracy=args.min_accuracy, chips=args.chips,
                      images=args.images, trials=args.trials, generation_size=args.generation_size, model=args.model,
                      seed=args.seed, scheduler=args.scheduler, resume=args.resume, overwrite=args.overwrite,
                      progress=_progress(args), echo=True, figures=args.figures)
        return 0
    if args.command == "hybrid":
        from studies.commands import main_hybrid

        main_hybrid(out=args.out, preset=args.preset, model=args.model, thresholds=args.thresholds, chips=args.chips,
                    seed=args.seed, images=args.images, data=args.data, cloud=args.cloud, link=args.link,
                    overwrite=args.overwrite, progress=_progress(args), echo=True, figures=args.figures)
        return 0
    raise AssertionError(args.command)  # pragma: no cover - argparse restricts the commands
