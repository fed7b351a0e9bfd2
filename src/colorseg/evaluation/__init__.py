"""Evaluation: run a trained model over a data split → ``metrics.json``, ``per_image.csv`` and the
tables reports read (:mod:`.segmentation`, :mod:`.colorization`).

Models are rebuilt through :mod:`colorseg.checkpoint` and the evaluated split through
:mod:`colorseg.data.split_datasets`; nothing here imports Lightning or :mod:`colorseg.training`.
"""
