"""The synthetic city generator (``onegrid synth``).

    from pipelines.synth import generate, PROFILES
    truth_dir = generate("tiny", Path("data/landing"), scale=1.0, seed=0, progress=True)

Deliveries follow shared/contracts/extracts.md; ground truth is written beside the landing
root (``config.truth_dir(out)``), never inside it. See pipelines/synth/README.md.
"""

from pipelines.synth.core import generate
from pipelines.synth.profiles import PROFILES, Profile

__all__ = ["generate", "PROFILES", "Profile"]
