"""bAbI question answering data: the public v1.2 text format, its folder layout, and a generator.

``read_babi`` / ``write_babi`` read and write the release's ``qaN_<name>_{train,test}.txt`` files;
``find_task_files`` finds them in ``en/``, ``en-10k/`` or the release's top folder;
``generate_task`` writes stories of tasks 1, 2, 3 and 6 from a simulated world.
"""

from snnsim.babi.format import Question, Statement, Story, parse_babi, read_babi, samples, write_babi
from snnsim.babi.generator import TASKS, generate_task
from snnsim.babi.layout import TASK_NAMES, find_task_files

__all__ = ["Statement", "Question", "Story", "parse_babi", "read_babi", "write_babi", "samples",
           "TASKS", "generate_task", "TASK_NAMES", "find_task_files"]
