"""kindpace: the command line and its configuration."""

import os

# Arrow's memory from the system allocator, in every kindpace process and (inherited) its workers: Arrow's
# default (mimalloc) keeps what an import frees for reuse, and an import frees a great deal. Measured on
# 2,000 real running files: peak 597 -> 530 MB for the import's processes, at the same speed. Read by
# pyarrow when it is first imported, so it is set before anything imports it; a runner's own setting wins.
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
