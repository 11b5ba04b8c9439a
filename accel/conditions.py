"""Operating conditions of a sampled chip: variation, tuning and receiver noise as one object.

:class:`Conditions` holds overrides on the preset's values. Each of its three parts is

* None: the preset's value (its ``[variation]``, ``[thermal]`` and ``[tuning]`` tables, see
  :meth:`Conditions.resolve`);
* False: off (no variation, no tuning, no receiver noise);
* a settings object: :class:`VariationSettings`, ``photonics.tuning.TuningModel`` or
  :class:`NoiseSettings`.

:meth:`Conditions.resolve` is the one place where None becomes a concrete model.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from accel.config import AcceleratorConfig
from photonics import tuning as _tuning
from photonics import variation as _variation
from photonics.validation import Parameters, param

__all__ = ["VariationSettings", "NoiseSettings", "Conditions"]


@dataclass(frozen=True)
class VariationSettings:
    """Chip variation.

    ``fab`` (``photonics.variation.FabricationModel``) and ``thermal`` (``ThermalModel``, the
    temperature when the rings are locked): None = the preset's models, False = off.
    ``drift``: temperature change between locking and inference, a ``ThermalModel`` (offset and
    gradient, sampled per chip) or None/False = none (the tuning loop tracks temperature).
    """

    fab: object = None
    thermal: object = None
    drift: object = None

    def __post_init__(self):
        for name, cls in (("fab", _variation.FabricationModel), ("thermal", _variation.ThermalModel),
                          ("drift", _variation.ThermalModel)):
            value = getattr(self, name)
            if not (value is None or value is False or isinstance(value, cls)):
                raise TypeError(f"VariationSettings.{name} must be None, False or a photonics.variation.{cls.__name__}, "
                                f"got {type(value).__name__} {value!r}")


@dataclass(frozen=True)
class NoiseSettings(Parameters):
    """Receiver noise and ADC.

    ``scale`` multiplies the noise std (1 = the physical value); ``received_power_w`` is the
    power per wavelength at the detector (None: the accelerator's laser budget,
    ``LaserBudget.power_at_detector_per_wavelength_w``); ``adc_bits`` overrides the
    configuration's ADC resolution (``accel.components.Adc.bits``).
    """

    key_prefix: ClassVar[str] = "NoiseSettings"
    scale: float = param("[0, inf)", default=1.0, doc="factor on the receiver noise std")
    received_power_w: float | None = param("(0, inf)", unit="W", default=None, doc="power per wavelength at the detector")
    adc_bits: int | None = param("[1, 32]", unit="bit", default=None, doc="partial-sum ADC resolution")


def _check(name: str, value, cls) -> None:
    if not (value is None or value is False or isinstance(value, cls)):
        raise TypeError(f"{name} must be None (defaults), False (off) or a {cls.__module__}.{cls.__name__}, "
                        f"got {type(value).__name__} {value!r}")


@dataclass(frozen=True)
class Conditions:
    """Variation, tuning and noise of a run: None = the preset's value, False = off (module docstring).

    ``variation``: :class:`VariationSettings`; ``tuning``: ``photonics.tuning.TuningModel``
    (False: no tuning, each ring stays at its varied resonance); ``noise``: :class:`NoiseSettings`.
    Frozen and hashable, so it can key caches.
    """

    variation: object = None
    tuning: object = None
    noise: object = None

    def __post_init__(self):
        _check("variation", self.variation, VariationSettings)
        _check("tuning", self.tuning, _tuning.TuningModel)
        _check("noise", self.noise, NoiseSettings)

    @classmethod
    def of(cls, conditions: "Conditions | None" = None, *, variation=None, tuning=None, noise=None) -> "Conditions":
        """``conditions``, or the conditions of the ``variation``/``tuning``/``noise`` keywords
        (the two forms of the simulator APIs); giving both is an error."""
        if conditions is None:
            return cls(variation=variation, tuning=tuning, noise=noise)
        if not isinstance(conditions, cls):
            raise TypeError(f"conditions must be an accel.conditions.Conditions or None, got {type(conditions).__name__}")
        given = [name for name, value in (("variation", variation), ("tuning", tuning), ("noise", noise))
                 if value is not None]
        if given:
            raise ValueError(f"conditions= was given together with {', '.join(f'{g}=' for g in given)}; "
                             "allowed: conditions= alone or variation=/tuning=/noise=")
        return conditions

    def resolve(self, config: AcceleratorConfig) -> "Conditions":
        """These conditions with every None replaced by the preset's value for ``config``.

        Variation: the preset's ``[variation]`` and ``[thermal]`` models (``config.variation``,
        ``config.thermal``; no drift); tuning: the ``photonics.tuning.TuningModel`` of the
        preset's ``[tuning]`` table (``config.tuning.model()``); noise: ``NoiseSettings()``. False
        parts stay False; a given model is kept. The result has no None left except inside
        :class:`NoiseSettings` (its None fields name the accelerator's own receiver power and ADC
        resolution).
        """
        if not isinstance(config, AcceleratorConfig):
            raise TypeError(f"config must be an accel.config.AcceleratorConfig, got {type(config).__name__}")
        variation = VariationSettings() if self.variation is None else self.variation
        if variation is not False:
            variation = VariationSettings(
                fab=config.variation if variation.fab is None else variation.fab,
                thermal=config.thermal if variation.thermal is None else variation.thermal,
                drift=variation.drift or False,
            )
        tuning = self.tuning
        if tuning is None:
            tuning = config.tuning.model()
        noise = NoiseSettings() if self.noise is None else self.noise
        return Conditions(variation=variation, tuning=tuning, noise=noise)
