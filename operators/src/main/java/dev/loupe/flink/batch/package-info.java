/**
 * The batching policy: {@link dev.loupe.flink.batch.DynamicBatcher} decides when the model takes its next
 * {@link dev.loupe.flink.batch.Batch} (full, or delay expired while the model is idle); the inference operator owns
 * and checkpoints it.
 */
package dev.loupe.flink.batch;
