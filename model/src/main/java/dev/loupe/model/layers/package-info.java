/**
 * ONNX graph building blocks that several model families use (transformer encoder ops, activations), kept here so
 * that a family's package never depends on another family's: the families depend on this package, never the reverse.
 */
package dev.loupe.model.layers;
