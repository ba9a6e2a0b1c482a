/**
 * The checkpointed dynamic batcher: {@link dev.loupe.flink.batch.DynamicBatcher} groups any elements into
 * {@link dev.loupe.flink.batch.Batch}es by size and delay.
 */
package dev.loupe.flink.batch;
