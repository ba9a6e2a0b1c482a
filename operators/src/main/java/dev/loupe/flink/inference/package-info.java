/**
 * The model side of the pipeline: images decoded and preprocessed ({@link dev.loupe.flink.inference.PreprocessFunction})
 * into {@link dev.loupe.flink.inference.PreparedRequest}s, and batches run by the
 * {@link dev.loupe.flink.inference.InferenceOperator}, the pipeline's one failure-isolation layer.
 */
package dev.loupe.flink.inference;
