package dev.loupe.model.llm;

import dev.loupe.model.api.HostTrafficStats;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Bytes that cross between the host (Java) and the execution provider's memory in a {@link DeviceBoundDecoder}:
 * every host tensor bound as a graph input counts host-to-device, every host tensor bound as an output
 * device-to-host. Prefills (the prefix embeddings go in) and decode steps (token ids and lengths in, token choices or
 * logits out) are counted apart, so that a step's traffic can be watched on its own: it does not grow with the
 * context, the KV cache never crosses. Thread-safe; one per decoder (all its generations).
 * <p>{@link DeviceBoundDecoder#trafficStats()} reports them as {@link HostTrafficStats}.
 */
final class HostTraffic {
    private final AtomicLong prefillToDevice = new AtomicLong();
    private final AtomicLong prefillToHost = new AtomicLong();
    private final AtomicLong stepToDevice = new AtomicLong();
    private final AtomicLong stepToHost = new AtomicLong();
    private final AtomicLong prefills = new AtomicLong();
    private final AtomicLong steps = new AtomicLong();

    /** The counts so far, with the device memory in use {@code deviceBytesInUse} (-1: unknown). */
    public HostTrafficStats snapshot(long deviceBytesInUse) {
        return new HostTrafficStats(prefills.get(), steps.get(), prefillToDevice.get(), prefillToHost.get(),
                stepToDevice.get(), stepToHost.get(), 0, 0, deviceBytesInUse);
    }

    void prefill(long toDevice, long toHost) {
        prefills.incrementAndGet();
        prefillToDevice.addAndGet(toDevice);
        prefillToHost.addAndGet(toHost);
    }

    /** A lookup of token embeddings into Java (counted with the prefills: it builds prefixes). */
    void lookup(long toDevice, long toHost) {
        prefillToDevice.addAndGet(toDevice);
        prefillToHost.addAndGet(toHost);
    }

    void step(long toDevice, long toHost) {
        steps.incrementAndGet();
        stepToDevice.addAndGet(toDevice);
        stepToHost.addAndGet(toHost);
    }
}
