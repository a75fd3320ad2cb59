"""Type stubs of the neuvis package."""
from os import PathLike
from typing import Any, Optional, Sequence, Union

from ._neuvis import Inr as Inr, Model as Model, __version__ as __version__, read_volume as read_volume

_Path = Union[str, "PathLike[str]"]

def series(inputs: Union[_Path, Sequence[_Path]]) -> list[tuple[float, str]]: ...
def amr(
    spec: _Path,
    weights: Optional[_Path] = None,
    output: Optional[_Path] = None,
    overwrite: bool = False,
    **settings: Any,
) -> dict[str, Any]: ...
