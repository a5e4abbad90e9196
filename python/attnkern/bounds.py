"""The documented error bounds, as include/attnkern/bounds.hpp defines them (read from the extension,
which is compiled against that header: one definition)."""
from ._attnkern import bounds as _bounds

globals().update({name: getattr(_bounds, name) for name in dir(_bounds) if not name.startswith("_")})
del _bounds
