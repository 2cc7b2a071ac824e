"""Strata SDK: PyTorch checkpoints to and from a Strata server.

    import strata
    h = strata.save_checkpoint(model.state_dict(), "lab/chimera@run-42", step=1500)
    state = strata.load_state_dict("lab/chimera@run-42")
"""
from .cache import ChunkCache
from .checkpoint import (CheckpointHandle, Checkpointer, CheckpointReader, SaveResult, default_checkpointer,
                         load_state_dict, open_checkpoint, save_checkpoint)
from .client import Client, RetryPolicy
from .errors import (AuthenticationError, ConflictError, IntegrityError, InvalidRequestError, NotFoundError,
                     PermissionDenied, SerializationError, StrataConnectionError, StrataError)
from .meta import best, branches, find, latest, lineage, at_step

__version__ = "0.1.0"

try:  # strata:// for fsspec.open / fsspec.filesystem (also declared as an entry point)
    import fsspec as _fsspec

    _fsspec.register_implementation("strata", "strata.fs.StrataFileSystem", clobber=True)
    from . import fs  # noqa: F401
except ImportError:  # pragma: no cover
    pass
__all__ = ["ChunkCache", "CheckpointHandle", "Checkpointer", "CheckpointReader", "SaveResult", "Client",
           "RetryPolicy", "default_checkpointer", "load_state_dict", "open_checkpoint", "save_checkpoint",
           "AuthenticationError", "ConflictError", "IntegrityError", "InvalidRequestError", "NotFoundError",
           "PermissionDenied", "SerializationError", "StrataConnectionError", "StrataError",
           "best", "branches", "find", "latest", "lineage", "at_step"]
