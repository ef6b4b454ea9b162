"""Solvers independent of the war model: optimal stopping by least-squares Monte Carlo (:mod:`ceasefire.solve.lsm`)."""
