/**
 * The model side of the pipeline: images decoded and preprocessed ({@link dev.loupe.flink.inference.PreprocessFunction})
 * into {@link dev.loupe.flink.inference.PreparedRequest}s, batched and run on the model's own thread by the
 * {@link dev.loupe.flink.inference.BatchInferenceOperator}, with {@link dev.loupe.flink.inference.BatchInference} the
 * pipeline's one failure-isolation layer.
 */
package dev.loupe.flink.inference;
