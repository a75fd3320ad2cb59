"""neuvis from Python: the same readers, decoder and AMR driver as the `neuvis` command.

    import neuvis
    m = neuvis.Model("tornado.nrvi")          # a .nrvi model (decoded on the CPU)
    img = m.decode(24, 45, 90)                # H x W x 4 uint8 (RGB + mask), any (t, theta, phi)
    vol, info = neuvis.read_volume("run.vti", array="pressure")   # float32 [z, y, x]
    history = neuvis.amr("inr.json", method="pruning", p=0.09)["history"]
"""
import json as _json

from ._neuvis import Inr, Model, __version__, read_volume, series
from ._neuvis import amr_json as _amr_json

__all__ = ["Inr", "Model", "amr", "read_volume", "series", "__version__"]


def amr(spec, weights=None, **settings):
    """Runs the AMR driver over the INR `spec` (JSON) and returns the run as a dict: `history`
    (one dict per iteration: elements, dofs, conforming_dofs, total_error, ...), `stop_reason`,
    `rel_floor` and `config`. Settings are `neuvis amr`'s flags: method, t, p, eps, tau,
    basic_error, max_it, max_dofs, id_samples, error_samples, initial_refinements, seed,
    total_error_samples."""
    return _json.loads(_amr_json(spec, weights, **settings))
