"""MkDocs hooks: settings for the code that runs while the pages build.

The tutorial and the guide execute their examples (markdown-exec). They train
small networks, for which one thread is several times faster than torch's
default of one per core, above all on a machine that is busy with other work.
Figures are drawn off screen.
"""

import matplotlib
import torch


def on_startup(**kwargs):
    torch.set_num_threads(1)
    matplotlib.use("Agg")
