package dev.loupe.flink.batch;

import java.util.List;

/**
 * A batch taken from a {@link DynamicBatcher}: its elements in arrival order and, per element, how long it waited in
 * the batcher (reported as the result's {@code timings.queueMillis}).
 */
public record Batch<T>(List<T> elements, long[] queueMillis) {

    public Batch {
        if (elements.size() != queueMillis.length) {
            throw new IllegalArgumentException(elements.size() + " elements but " + queueMillis.length + " wait times");
        }
        elements = List.copyOf(elements);
    }

    public int size() {
        return elements.size();
    }
}
