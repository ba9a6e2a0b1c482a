package dev.loupe.model.llm;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Bytes that cross between the host (Java) and the execution provider's memory in a {@link DeviceBoundDecoder}:
 * every host tensor bound as a graph input counts host-to-device, every host tensor bound as an output
 * device-to-host. Prefills (the prefix embeddings go in) and decode steps (token ids and lengths in, token choices or
 * logits out) are counted apart, so that a step's traffic can be watched on its own: it does not grow with the
 * context, the KV cache never crosses. Thread-safe; one per decoder (all its generations).
 * <p>The Flink inference operator can export {@link #snapshot()} as gauges next to its vision-cache ones.
 */
public final class HostTraffic {
    private final AtomicLong prefillToDevice = new AtomicLong();
    private final AtomicLong prefillToHost = new AtomicLong();
    private final AtomicLong stepToDevice = new AtomicLong();
    private final AtomicLong stepToHost = new AtomicLong();
    private final AtomicLong prefills = new AtomicLong();
    private final AtomicLong steps = new AtomicLong();

    /**
     * The counts so far.
     *
     * @param prefills          prefill runs (a batch of prefixes written into the cache)
     * @param steps             decode runs (tokens fed after the cache: the embedding and the decoder graph)
     * @param prefillToDevice   bytes host to device in prefills and token embedding lookups
     * @param prefillToHost     bytes device to host in prefills and token embedding lookups
     * @param stepToDevice      bytes host to device in decode runs
     * @param stepToHost        bytes device to host in decode runs
     */
    public record Snapshot(long prefills, long steps, long prefillToDevice, long prefillToHost, long stepToDevice,
                           long stepToHost) {
        /** All bytes host to device. */
        public long toDevice() {
            return prefillToDevice + stepToDevice;
        }

        /** All bytes device to host. */
        public long toHost() {
            return prefillToHost + stepToHost;
        }

        /** Mean bytes crossing (both ways) per decode step; 0 before the first. */
        public double bytesPerStep() {
            return steps == 0 ? 0 : (double) (stepToDevice + stepToHost) / steps;
        }

        /** What happened between {@code earlier} and this snapshot. */
        public Snapshot since(Snapshot earlier) {
            return new Snapshot(prefills - earlier.prefills, steps - earlier.steps,
                    prefillToDevice - earlier.prefillToDevice, prefillToHost - earlier.prefillToHost,
                    stepToDevice - earlier.stepToDevice, stepToHost - earlier.stepToHost);
        }
    }

    public Snapshot snapshot() {
        return new Snapshot(prefills.get(), steps.get(), prefillToDevice.get(), prefillToHost.get(),
                stepToDevice.get(), stepToHost.get());
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
