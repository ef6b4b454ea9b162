"""The war engine written in JAX: the same model as :mod:`ceasefire.model.engine` as one jitted call.

Modules mirror the NumPy model's: :mod:`.kernels` (the NumPy model's own kernels of attrition,
economy, hazard, leader values and bargaining, shared through :func:`ceasefire.model.arrays.namespace`,
and JAX's value of peace), :mod:`.valuation` (victory scores and a leader's values), :mod:`.world` (the war's
state and one month of it), :mod:`.lsm` (the leaders' least-squares Monte Carlo rules). The order
of events and the entry point are in :mod:`ceasefire.model.jax_engine`.

Importing this package needs ``jax`` (the ``jax`` extra: ``pip install ceasefire[jax]``). Nothing
here changes JAX's global configuration; 64-bit numbers are switched on only around a call
(``jax.enable_x64``), by :func:`ceasefire.model.jax_engine.simulate`.
"""
