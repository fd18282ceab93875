"""Keras 3 on TensorFlow, set up the same way for every golden-file generator in this folder.

``from keras_env import keras, np, tf`` (the generators run as scripts from the repository root,
so this folder is first on ``sys.path``). TensorFlow's oneDNN kernels are switched off: the plain
Eigen kernels give the same round-off on every run.
"""
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

__all__ = ["keras", "np", "tf"]
