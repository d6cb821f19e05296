"""Keras layers: `from minigrad import layers; layers.Conv2D(32, (3, 3), activation="relu")`.

Every layer class is registered under its Keras snake_case name ('conv2d', 'max_pooling2d', ...;
the class name works too), built-in and plugin alike: `layers.get("Conv2D")` returns the class.
"""
from __future__ import annotations

from minigrad.layers.base import InputSpec, Layer, Weight, clear_names, deserialize, get, register, registry, serialize
from minigrad.layers.core import Activation, Dense, Dropout, Flatten, Input, InputLayer, Reshape
from minigrad.layers.conv import Conv1D, Conv2D, DepthwiseConv2D
from minigrad.layers.conv_transpose import Conv1DTranspose, Conv2DTranspose
from minigrad.layers.pooling import (AveragePooling1D, AveragePooling2D, GlobalAveragePooling1D,
                                     GlobalAveragePooling2D, GlobalMaxPooling1D, GlobalMaxPooling2D,
                                     MaxPooling1D, MaxPooling2D)
from minigrad.layers.normalization import BatchNormalization
from minigrad.layers.activation import ELU, LeakyReLU, ReLU, Softmax
from minigrad.layers.merge import (Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply, Subtract, add, average,
                                   concatenate, dot, maximum, minimum, multiply, subtract)

MaxPool2D, AvgPool2D, MaxPool1D, AvgPool1D = MaxPooling2D, AveragePooling2D, MaxPooling1D, AveragePooling1D
GlobalAvgPool2D, GlobalMaxPool2D = GlobalAveragePooling2D, GlobalMaxPooling2D
Convolution2D, Convolution1D = Conv2D, Conv1D
Convolution2DTranspose, Convolution1DTranspose = Conv2DTranspose, Conv1DTranspose

__all__ = [
    "Layer", "Weight", "InputSpec", "registry", "register", "get", "serialize", "deserialize", "clear_names",
    "Dense", "Activation", "Dropout", "Flatten", "Reshape", "InputLayer", "Input",
    "Conv1D", "Conv2D", "DepthwiseConv2D", "Convolution1D", "Convolution2D",
    "Conv1DTranspose", "Conv2DTranspose", "Convolution1DTranspose", "Convolution2DTranspose",
    "MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D", "MaxPool1D", "MaxPool2D",
    "AvgPool1D", "AvgPool2D", "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalMaxPooling1D",
    "GlobalMaxPooling2D", "GlobalAvgPool2D", "GlobalMaxPool2D",
    "BatchNormalization", "ReLU", "LeakyReLU", "ELU", "Softmax",
    "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot",
    "add", "subtract", "multiply", "average", "maximum", "minimum", "concatenate", "dot",
]
