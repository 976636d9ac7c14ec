"""The RECORD digest: one value naming a distribution's installed files, computed the same way for an installed
distribution (by the probe) and for a wheel file (by ``envsnap pin``, to find the wheel a lock was captured from).

The code lives in ``_pyprobe``, which runs standalone in the target interpreter and so can import nothing of
envsnap; this module is its public face for the layers above.
"""

from __future__ import annotations

from ._pyprobe import _generated_script, wheel_record_digest

__all__ = ["generated_script", "wheel_record_digest"]

# Whether an installed script's first line names its interpreter (an installer wrote or rewrote it): the RECORD
# digest leaves such scripts' hashes out.
generated_script = _generated_script
