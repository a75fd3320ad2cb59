"""neuvis from Python: the same readers, decoder and AMR driver as the `neuvis` command.

    import neuvis
    m = neuvis.Model("tornado.nrvi")          # a .nrvi model (decoded on the CPU)
    img = m.decode(24, 45, 90)                # H x W x 4 uint8 (RGB + mask), any (t, theta, phi)
    vol, info = neuvis.read_volume("run.vti", array="pressure")   # float32 [z, y, x]
    vol, info = neuvis.read_volume("tornado", dims=(64, 64, 64), step=3)   # a built-in volume
    f = neuvis.Inr("inr.json"); f([[0.1, 0.2], [0.3, 0.4]]); f([0.1, 0.2])
    history = neuvis.amr("inr.json", method="pruning", p=0.09)["history"]
    neuvis.amr("inr.json", output="amr-out", max_it=5)   # writes what `neuvis amr -o amr-out` writes

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


def _plain(o):
    """NumPy scalars and arrays as JSON numbers and lists."""
    if hasattr(o, "tolist"):
        return o.tolist()
    if hasattr(o, "item"):
        return o.item()
    raise TypeError(f"{type(o).__name__} is not a number, string or sequence")


def amr(spec, weights=None, output=None, overwrite=False, **settings):
    """Runs the AMR driver over the INR `spec` (JSON) as `neuvis amr` does and returns the run as a
    dict: `history` (one dict per iteration: elements, dofs, conforming_dofs, total_error, ...),
    `stop_reason`, `rel_floor`, `config`, `inr`, `dim`.

    With `output` (a folder), writes what `neuvis amr -o output` writes (history.csv/json,
    mesh.vtu, MFEM's mesh.mesh/mesh.gf, mesh_t*.vtu + mesh.pvd in 4-D, PNG slices) and adds
    `written`, the file names. An existing `output` raises FileExistsError unless `overwrite=True`,
    which replaces only a folder neuvis wrote; an output that is or holds an input is refused.

    Settings (defaults are `neuvis amr`'s): method ("pruning", "basic", "uniform"), t (alias
    error_threshold), p (alias proportion_threshold), eps, tau, basic_error ("reference",
    "pointwise"), max_it, max_dofs, max_elements, id_samples, error_samples, initial_refinements,
    seed, total_error_samples, rel_floor, slices (e.g. ["x=0"], 3-D and 4-D), time_slices (4-D),
    slice_px, range ((lo, hi) of the PNG colours). An unknown setting raises ValueError."""
    weights = None if weights is None else _os.fsdecode(weights)
    output = None if output is None else _os.fsdecode(output)
    if isinstance(settings.get("slices"), str):
        settings["slices"] = [settings["slices"]]
    try:
        options = _json.dumps(settings, default=_plain)
    except (TypeError, ValueError) as e:
        raise TypeError(f"amr settings: {e}") from None
    return _json.loads(_amr_json(_os.fsdecode(spec), weights, options, output, bool(overwrite)))
