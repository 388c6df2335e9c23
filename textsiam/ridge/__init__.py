"""The ridge-map research model: image features mapped into a frozen text tower's space in closed form.

Registered as pair model ``ridge-map`` (``PAIR_MODELS``'s homes include this package, so saved folders and the
``coco-effnet-minilm-ridge`` preset load without importing it first). ``model.py`` holds the model, ``cv.py`` the
cross-validation that chooses its weights.
"""

from textsiam.registry import import_submodules
from textsiam.ridge.model import RidgeMapModel

__all__ = ["RidgeMapModel"]

import_submodules(__name__)  # every module registers its components: a new file needs no import here
