"""qmix_tut: a small, readable PyTorch implementation of IQL, VDN and QMIX.

>>> from qmix_tut import Config, train
>>> result = train(Config.preset("two_step_paper"), progress=False)  # doctest: +SKIP
"""

__version__ = "0.1.0"

from .config import Config  # noqa: E402
from .train import Result, load, train  # noqa: E402

__all__ = ["Config", "Result", "load", "train", "__version__"]
