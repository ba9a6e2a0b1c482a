/**
 * The Flink annotation pipeline: {@link dev.loupe.flink.AnnotationPipeline} composes the stages of the sub-packages
 * between a source of requests and the sinks, configured by {@link dev.loupe.flink.PipelineOptions} (read from the
 * Flink options of {@link dev.loupe.flink.LoupeOptions}). Packages depend one way only: {@code failure} ←
 * {@code request} ← {@code fetch} ← {@code inference} (and {@code batch}) ← this package.
 */
package dev.loupe.flink;
