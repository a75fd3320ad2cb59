"""neuvis from Python: the same readers, decoder and AMR driver as the `neuvis` command.

    import neuvis
    m = neuvis.Model("tornado.nrvi")          # a .nrvi model (decoded on the CPU)
    img = m.decode(24, 45, 90)                # H x W x 4 uint8 (RGB + mask), any (t, theta, phi)
    vol, info = neuvis.read_volume("run.vti", array="pressure")   # float32 [z, y, x]
    vol, info = neuvis.read_volume("tornado", dims=(64, 64, 64), step=3)   # a built-in volume
    f = neuvis.Inr("inr.json"); f([[0.1, 0.2], [0.3, 0.4]]); f([0.1, 0.2])
    history = neuvis.amr("inr.json", method="pruning", p=0.09)["history"]

Paths may be `str` or `pathlib.Path`; triples (spacing, raw_dims, dims, a view's parameters) may be
tuples, lists or arrays.
"""
import json as _json
import os as _os

from ._neuvis import Inr, Model, __version__, read_volume
from ._neuvis import amr_json as _amr_json
from ._neuvis import series as _series

__all__ = ["Inr", "Model", "amr", "read_volume", "series", "__version__"]


def series(inputs):
    """The time steps of a series as a list of `(time, path)`: `inputs` is one path (a `.pvd`, a
    4-D NIfTI/NRRD, a glob pattern; `str` or `pathlib.Path`) or a list of them (natural order)."""
    if isinstance(inputs, (str, bytes, _os.PathLike)):
        inputs = [inputs]
    return _series([_os.fsdecode(p) for p in inputs])


def amr(spec, weights=None, **settings):
    """Runs the AMR driver over the INR `spec` (JSON) and returns the run as a dict: `history`
    (one dict per iteration: elements, dofs, conforming_dofs, total_error, ...), `stop_reason`,
    `rel_floor` and `config`. Settings are `neuvis amr`'s flags: method, t, p, eps, tau,
    basic_error, max_it, max_dofs, id_samples, error_samples, initial_refinements, seed,
    total_error_samples."""
    weights = None if weights is None else _os.fsdecode(weights)
    return _json.loads(_amr_json(_os.fsdecode(spec), weights, **settings))
