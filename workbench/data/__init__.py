"""Data: the registry of named data sets, and the files, folders and callables a config may
name instead (:mod:`workbench.data.sources`).

Every loader returns float32 inputs and int32 class labels. The train/test split of each data
set is fixed, whatever the experiment's seed, so that test accuracies are comparable across
runs; the validation split is drawn from the training set by the experiment. Nothing here
imports TensorFlow; loaded arrays are cached per process and are read-only.

Example:
    >>> import workbench as wb
    >>> ds = wb.load_dataset("digits")
    >>> ds.info.num_classes, ds.fingerprint["dataset"]
    (10, 'digits')
"""

from workbench.data.builtin import (
    DIGIT_CLASSES,
    FASHION_CLASSES,
    FASHION_DEBIAN_DIR,
    TWO_D_NOISE,
    make_2d,
)
from workbench.data.checks import ARRAYS, from_arrays
from workbench.data.registry import DATASETS, datasets, recommended_text, register_dataset
from workbench.data.sources import check_fingerprint, check_spec, kind_of, load_dataset, trust
from workbench.data.types import Dataset, DatasetInfo

__all__ = ["ARRAYS", "DATASETS", "DIGIT_CLASSES", "FASHION_CLASSES", "FASHION_DEBIAN_DIR",
           "TWO_D_NOISE", "Dataset", "DatasetInfo", "check_fingerprint", "check_spec",
           "datasets", "from_arrays", "kind_of", "load_dataset", "make_2d",
           "recommended_text", "register_dataset", "trust"]
