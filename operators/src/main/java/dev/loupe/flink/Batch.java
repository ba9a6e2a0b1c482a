package dev.loupe.flink;

import java.util.ArrayList;
import java.util.List;

/**
 * A batch emitted by {@link DynamicBatcher}: its elements in arrival order and, per element, how long it waited in
 * the batcher (reported as the result's {@code timings.queueMillis}).
 */
public class Batch<T> {
    public ArrayList<T> elements = new ArrayList<>();
    public long[] queueMillis = new long[0];

    public Batch() {}

    public Batch(List<T> elements, long[] queueMillis) {
        if (elements.size() != queueMillis.length) {
            throw new IllegalArgumentException(elements.size() + " elements but " + queueMillis.length + " wait times");
        }
        this.elements = new ArrayList<>(elements);
        this.queueMillis = queueMillis;
    }

    public int size() {
        return elements.size();
    }
}
