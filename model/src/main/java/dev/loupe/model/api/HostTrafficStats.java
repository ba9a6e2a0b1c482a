package dev.loupe.model.api;

/**
 * Bytes that crossed between the host and the execution provider's memory in a device-bound decoder runner
 * ({@code dev.loupe.model.llm.DeviceBoundDecoder}, {@link RuntimeOptions.Runner#DEVICE_BOUND}) since the model was
 * loaded, prefills, decode steps and the image side apart, and the device memory its allocator holds: what shows that
 * a decode step's traffic does not grow with the context (the KV cache stays on the device) and what of the image side
 * crosses per request (with the bound image side, the pixels and instructions in and nothing out: the vision output and
 * the projected queries — LLaVA's projected image features — stay on the device, the prefill reads them there). The Flink inference operator can export
 * them as gauges next to {@link VisionFeatureStats}; {@code loupe bench} prints them.
 *
 * @param prefills           prefill runs (prefix embeddings written into the cache)
 * @param steps              decode runs (tokens fed after the cache)
 * @param prefillToDevice    bytes host to device in prefills and token-embedding lookups (host prefix rows, or with
 *                           the image part on the device only the prompt rows and a gather index per row)
 * @param prefillToHost      bytes device to host in prefills and token-embedding lookups
 * @param stepToDevice       bytes host to device in decode steps
 * @param stepToHost         bytes device to host in decode steps
 * @param imageToDevice      bytes host to device in the image side (pixels, Q-Former instructions)
 * @param imageToHost        bytes device to host in the image side (its outputs that come back to Java: none when the
 *                           prefill reads them on the device)
 * @param deviceBytesInUse   bytes the device allocator hands out now (-1: unknown)
 */
public record HostTrafficStats(long prefills, long steps, long prefillToDevice, long prefillToHost, long stepToDevice,
                               long stepToHost, long imageToDevice, long imageToHost, long deviceBytesInUse) {

    /** A model whose decoder runs through ONNX Runtime's Java API (nothing is counted). */
    public static final HostTrafficStats NONE = new HostTrafficStats(0, 0, 0, 0, 0, 0, 0, 0, -1);

    /** The image side's bytes alone (nothing of the decoder). */
    public static HostTrafficStats imageSide(long toDevice, long toHost) {
        return new HostTrafficStats(0, 0, 0, 0, 0, 0, toDevice, toHost, -1);
    }

    /** These decoder counts with {@code image}'s image-side bytes. */
    public HostTrafficStats withImageSide(HostTrafficStats image) {
        return new HostTrafficStats(prefills, steps, prefillToDevice, prefillToHost, stepToDevice, stepToHost,
                image.imageToDevice, image.imageToHost, deviceBytesInUse);
    }

    /** All bytes host to device. */
    public long toDevice() {
        return prefillToDevice + stepToDevice + imageToDevice;
    }

    /** All bytes device to host. */
    public long toHost() {
        return prefillToHost + stepToHost + imageToHost;
    }

    /** Mean bytes crossing (both ways) per decode step; 0 before the first. */
    public double bytesPerStep() {
        return steps == 0 ? 0 : (double) (stepToDevice + stepToHost) / steps;
    }

    /** What happened between {@code earlier} and these counts (the device memory as now). */
    public HostTrafficStats since(HostTrafficStats earlier) {
        return new HostTrafficStats(prefills - earlier.prefills, steps - earlier.steps,
                prefillToDevice - earlier.prefillToDevice, prefillToHost - earlier.prefillToHost,
                stepToDevice - earlier.stepToDevice, stepToHost - earlier.stepToHost,
                imageToDevice - earlier.imageToDevice, imageToHost - earlier.imageToHost, deviceBytesInUse);
    }
}
