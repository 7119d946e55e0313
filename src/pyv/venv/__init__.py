"""Virtual environments: project ``.venv`` directories and named central environments.

Modules, one per concern:

* :mod:`pyv.venv.manage` - the entry points (``pyv venv``, ``pyv envs``, uninstall's check),
* :mod:`pyv.venv.interpreter` - which interpreter, and its facts,
* :mod:`pyv.venv.create` / :mod:`pyv.venv.layout` - staging and writing the tree,
* :mod:`pyv.venv.seed` / :mod:`pyv.venv.wheel` - pip and friends from a verified cache
  (:mod:`pyv.venv.seed_index` - the package index, only on a cache miss),
* :mod:`pyv.venv.activation` - activation scripts, :mod:`pyv.venv.registry` - what exists,
* :mod:`pyv.venv.quick` - ``pyv venv``'s fast path for the common case.

This file imports nothing: the fast path must not pay for what it does not use.
"""
