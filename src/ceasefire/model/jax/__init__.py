"""The JAX backend: the model's month run under ``lax.scan`` and ``vmap`` (:mod:`.engine`), with JAX's
own value of peace (:mod:`.peace`).

Importing this package needs ``jax`` (the ``jax`` extra: ``pip install ceasefire[jax]``) and registers
the model's typed parameters and state as JAX pytrees. Nothing here changes JAX's global
configuration; 64-bit numbers are switched on only around a call (``jax.enable_x64``), by
:func:`ceasefire.model.jax.engine.simulate_blocks`.
"""
