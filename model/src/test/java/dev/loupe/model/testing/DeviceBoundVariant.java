package dev.loupe.model.testing;

/**
 * Marks a subclass of a parity test that runs the same tests with the device-bound decoder runner
 * ({@link dev.loupe.model.api.RuntimeOptions.Runner#DEVICE_BOUND}: IoBinding, the KV cache in the execution provider's
 * memory, CPU here) over the fused LLaMA or OPT decoder, with the same thresholds ({@link ConvertedFixture#runnerFor}).
 */
public interface DeviceBoundVariant {
}
