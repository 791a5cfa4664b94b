"""The lecture's lessons measured on real models: how far back gradients reach, how much
context a model uses, why clipping matters, and hand-set cells whose every number can be read.

Tensors and text in, plain numbers out; the Learn page and `python -m rnnlm learn` draw them.
"""
