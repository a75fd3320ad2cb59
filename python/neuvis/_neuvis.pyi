"""Type stubs of the compiled half of the neuvis package (for editors and type checkers)."""
from os import PathLike
from typing import Any, Optional, Sequence, Union, overload

import numpy as np
import numpy.typing as npt

_Path = Union[str, "PathLike[str]"]
_Triple = Sequence[float]

__version__: str

class Model:
    """A `.nrvi` model opened for decoding on the CPU."""

    def __init__(self, path: _Path) -> None: ...
    @property
    def width(self) -> int: ...
    @property
    def height(self) -> int: ...
    def grid(self) -> dict[str, Any]:
        """`times`, `thetas`, `phis` (sorted) and `params`, every (t, θ, φ) trained on."""
    def decode(self, t: float, theta: float, phi: float) -> npt.NDArray[np.uint8]:
        """One view as a `height × width × 4` uint8 array (RGB, the mask as alpha)."""
    def decode_many(self, params: Union[Sequence[_Triple], npt.ArrayLike], batch: int = 16) -> npt.NDArray[np.uint8]:
        """`n` views as an `n × height × width × 4` uint8 array."""

class Inr:
    """An implicit neural representation loaded from its JSON spec and weights."""

    def __init__(self, spec: _Path, weights: Optional[_Path] = None) -> None: ...
    @property
    def dim(self) -> int: ...
    @property
    def domain(self) -> list[tuple[float, float]]: ...
    @overload
    def __call__(self, points: Sequence[float]) -> float: ...
    @overload
    def __call__(self, points: npt.ArrayLike) -> Union[npt.NDArray[np.float64], float]: ...

def read_volume(
    path: _Path,
    array: Optional[str] = None,
    component: Optional[int] = None,
    nan_to: Optional[float] = None,
    spacing: Optional[_Triple] = None,
    raw_dims: Optional[Sequence[int]] = None,
    raw_dtype: str = "u8",
    raw_endian: str = "little",
    raw_skip: int = 0,
    step: Optional[int] = None,
    dims: Optional[Sequence[int]] = None,
    seed: int = 0,
) -> tuple[npt.NDArray[np.float32], dict[str, list[Any]]]:
    """A volume as a float32 `[z, y, x]` array and its `spacing`, `origin`, `dims`."""

def series(inputs: list[str]) -> list[tuple[float, str]]: ...
def amr_json(
    spec: str,
    weights: Optional[str] = None,
    options: str = "{}",
    output: Optional[str] = None,
    overwrite: bool = False,
) -> str: ...
