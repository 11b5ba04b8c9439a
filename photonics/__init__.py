"""Device physics of silicon microring accelerators.

Submodules: ``materials`` (Sellmeier, thermo-optic), ``waveguide`` (strip-waveguide mode
solver and fast surrogate), ``mrr`` (exact ring transfer functions, ``RingDesign``), ``wdm``
(inter-channel crosstalk), ``coupler`` (ring-bus evanescent coupler, κ² versus gap), ``xnor``
(ROBIN-style two-ring XNOR cell), ``variation``
(fabrication and thermal variation), ``tuning`` (EO/TO tuning with thermal crosstalk),
``eo`` (electro-optic actuator and modulator physics: carrier injection, depletion, Pockels),
``receiver`` (noise, BER, laser budget), ``validation`` (argument checks and the parameter-field
helper every layer uses). This package never imports torch.
"""
