package dev.loupe.flink.batch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;

class DynamicBatcherTest {

    private static OneInputStreamOperatorTestHarness<String, Batch<String>> harness(int maxSize, long delayMillis)
            throws Exception {
        return new OneInputStreamOperatorTestHarness<>(
                new DynamicBatcher<>(Types.STRING, maxSize, Duration.ofMillis(delayMillis)));
    }

    private static List<List<String>> batches(OneInputStreamOperatorTestHarness<String, Batch<String>> h) {
        List<List<String>> out = new ArrayList<>();
        for (Batch<String> b : h.extractOutputValues()) {
            out.add(b.elements);
        }
        return out;
    }

    @Test
    void emitsAsSoonAsTheBatchIsFull() throws Exception {
        try (var h = harness(3, 1_000)) {
            h.open();
            h.setProcessingTime(0);
            h.processElement("a", 0);
            h.processElement("b", 0);
            assertThat(batches(h)).isEmpty();
            h.processElement("c", 0);
            assertThat(batches(h)).containsExactly(List.of("a", "b", "c"));
            assertThat(((DynamicBatcher<String>) h.getOneInputOperator()).buffered()).isZero();
            h.processElement("d", 0);
            assertThat(batches(h)).hasSize(1);
        }
    }

    @Test
    void emitsAPartialBatchWhenTheDelaySinceItsFirstElementExpires() throws Exception {
        try (var h = harness(8, 50)) {
            h.open();
            h.setProcessingTime(100);
            h.processElement("a", 0);
            h.setProcessingTime(130);
            h.processElement("b", 0);
            h.setProcessingTime(149);
            assertThat(batches(h)).isEmpty();
            h.setProcessingTime(150);
            assertThat(batches(h)).containsExactly(List.of("a", "b"));
            Batch<String> batch = h.extractOutputValues().get(0);
            assertThat(batch.queueMillis).containsExactly(50L, 20L);

            // a stale timer of the emitted batch does not cut the next one short
            h.setProcessingTime(170);
            h.processElement("c", 0);
            h.setProcessingTime(219);
            assertThat(batches(h)).hasSize(1);
            h.setProcessingTime(220);
            assertThat(batches(h)).containsExactly(List.of("a", "b"), List.of("c"));
        }
    }

    @Test
    void emitsWhatIsLeftAtEndOfInput() throws Exception {
        try (var h = harness(4, 60_000)) {
            h.open();
            h.processElement("a", 0);
            h.processElement("b", 0);
            h.endInput();
            assertThat(batches(h)).containsExactly(List.of("a", "b"));
        }
    }

    @Test
    void bufferedElementsSurviveARestoreExactlyOnce() throws Exception {
        OperatorSubtaskState snapshot;
        try (var h = harness(4, 50)) {
            h.open();
            h.setProcessingTime(10);
            h.processElement("a", 0);
            h.processElement("b", 0);
            h.processElement("c", 0);
            h.processElement("d", 0);   // full: emitted before the checkpoint
            h.processElement("e", 0);
            h.processElement("f", 0);
            snapshot = h.snapshot(1L, 20);
            assertThat(batches(h)).containsExactly(List.of("a", "b", "c", "d"));
            // the failed attempt would go on to emit e, f; they must come back from the checkpoint only
        }
        try (var restored = harness(4, 50)) {
            restored.setProcessingTime(30);
            restored.initializeState(snapshot);
            restored.open();
            restored.processElement("g", 0);
            assertThat(batches(restored)).isEmpty();
            restored.setProcessingTime(60);   // 50 ms after e and f arrived, before the restart
            assertThat(batches(restored)).containsExactly(List.of("e", "f", "g"));
            assertThat(restored.extractOutputValues().get(0).queueMillis).containsExactly(50L, 50L, 30L);
            restored.setProcessingTime(1_000);
            restored.endInput();
            assertThat(batches(restored)).hasSize(1);
        }
    }

    @Test
    void snapshotOfAnEmptyBufferRestoresNothing() throws Exception {
        OperatorSubtaskState snapshot;
        try (var h = harness(2, 50)) {
            h.open();
            h.processElement("a", 0);
            h.processElement("b", 0);
            snapshot = h.snapshot(1L, 0);
        }
        try (var restored = harness(2, 50)) {
            restored.initializeState(snapshot);
            restored.open();
            restored.endInput();
            assertThat(batches(restored)).isEmpty();
        }
    }

    @Test
    void rejectsInvalidSettings() {
        assertThatThrownBy(() -> new DynamicBatcher<>(Types.STRING, 0, Duration.ofMillis(5)))
                .hasMessageContaining("batch.max-size");
        assertThatThrownBy(() -> new DynamicBatcher<>(Types.STRING, 1, Duration.ofMillis(-5)))
                .hasMessageContaining("batch.max-delay");
    }
}
