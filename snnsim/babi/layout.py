"""The bAbI release's folder layout: ``tasks_1-20_v1-2/{en,en-10k,...}/qaN_<name>_{train,test}.txt``."""

from __future__ import annotations

import glob
import os

from snnsim.errors import FileFormatError

#: the file-name stems of the 20 tasks in the v1.2 release
TASK_NAMES = {1: "single-supporting-fact", 2: "two-supporting-facts", 3: "three-supporting-facts",
              4: "two-arg-relations", 5: "three-arg-relations", 6: "yes-no-questions", 7: "counting",
              8: "lists-sets", 9: "simple-negation", 10: "indefinite-knowledge", 11: "basic-coreference",
              12: "conjunction", 13: "compound-coreference", 14: "time-reasoning", 15: "basic-deduction",
              16: "basic-induction", 17: "positional-reasoning", 18: "size-reasoning", 19: "path-finding",
              20: "agents-motivations"}


def find_task_files(folder, task: int, size: str = "1k") -> tuple[str, str]:
    """``(train, test)`` paths of task ``task`` in ``folder``: a folder holding the ``qaN_*`` files
    (the release's ``en/`` or ``en-10k/``), or the release's top folder (then ``en/`` for 1k,
    ``en-10k/`` for 10k)."""
    folder = os.fspath(folder)
    if size not in ("1k", "10k"):
        raise FileFormatError(f"{folder}: size must be '1k' or '10k', got {size!r}")
    if not os.path.isdir(folder):
        raise FileFormatError(f"{folder}: not a folder")
    candidates = [folder, os.path.join(folder, "en" if size == "1k" else "en-10k")]
    for place in candidates:
        train = sorted(glob.glob(os.path.join(place, f"qa{task}_*_train.txt")))
        test = sorted(glob.glob(os.path.join(place, f"qa{task}_*_test.txt")))
        if train and test:
            if len(train) > 1 or len(test) > 1:
                raise FileFormatError(f"{place}: several files for task {task}: {train + test}")
            return train[0], test[0]
    raise FileFormatError(f"{folder}: no qa{task}_*_train.txt and qa{task}_*_test.txt here or in "
                          f"{os.path.basename(candidates[1])}/")
