/**
 * How every stage reports a failed request: the one side output ({@link dev.loupe.flink.failure.Failures#TAG}), the
 * per-stage failure ({@link dev.loupe.flink.failure.StageFailure}) that becomes the dead-letter record, and the
 * splitter and metrics around them. Depends on no other pipeline package.
 */
package dev.loupe.flink.failure;
