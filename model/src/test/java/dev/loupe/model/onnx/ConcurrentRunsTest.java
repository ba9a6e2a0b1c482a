package dev.loupe.model.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

/** Runs spread over threads: each index once, truly at once, failures thrown, and the caller alone when asked. */
class ConcurrentRunsTest {
    @Test
    void everyIndexRunsExactlyOnce() {
        try (ConcurrentRuns runs = new ConcurrentRuns(3, "test")) {
            for (int count : new int[] {0, 1, 2, 3, 7, 50}) {
                AtomicIntegerArray seen = new AtomicIntegerArray(count);
                runs.forEach(count, seen::incrementAndGet);
                for (int i = 0; i < count; i++) {
                    assertThat(seen.get(i)).as("index %d of %d", i, count).isEqualTo(1);
                }
            }
        }
    }

    @Test
    void runsGoSideBySideOnThatManyThreads() {
        // three runs that each wait for the other two: they only end if three threads run them at once
        CyclicBarrier all = new CyclicBarrier(3);
        Set<String> threads = ConcurrentHashMap.newKeySet();
        try (ConcurrentRuns runs = new ConcurrentRuns(3, "test")) {
            runs.forEach(3, i -> {
                threads.add(Thread.currentThread().getName());
                try {
                    all.await(10, TimeUnit.SECONDS);
                } catch (Exception e) {
                    throw new IllegalStateException("run " + i + " did not meet the others", e);
                }
            });
        }
        assertThat(threads).hasSize(3).contains(Thread.currentThread().getName());
    }

    @Test
    void oneThreadRunsEverythingOnTheCallerInOrder() {
        StringBuilder order = new StringBuilder();
        try (ConcurrentRuns runs = new ConcurrentRuns(1, "test")) {
            runs.forEach(4, i -> {
                assertThat(Thread.currentThread().getName()).doesNotStartWith("test");
                order.append(i);
            });
        }
        assertThat(order).hasToString("0123");
    }

    @Test
    void theFirstFailureIsThrownAfterTheRunsInFlightEndAndTheRestAreSkipped() {
        AtomicInteger ran = new AtomicInteger();
        AtomicInteger inFlight = new AtomicInteger();
        try (ConcurrentRuns runs = new ConcurrentRuns(2, "test")) {
            assertThatThrownBy(() -> runs.<IOException>forEach(40, i -> {
                inFlight.incrementAndGet();
                try {
                    ran.incrementAndGet();
                    if (i == 3) {
                        throw new IOException("run 3 failed");
                    }
                    Thread.sleep(2);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } finally {
                    inFlight.decrementAndGet();
                }
            })).isInstanceOf(IOException.class).hasMessage("run 3 failed");
            assertThat(inFlight.get()).as("runs still going when forEach returned").isZero();
            assertThat(ran.get()).as("runs started").isLessThan(40);
            // the runner stays usable after a failure
            AtomicIntegerArray seen = new AtomicIntegerArray(5);
            runs.forEach(5, seen::incrementAndGet);
            assertThat(seen.toString()).isEqualTo("[1, 1, 1, 1, 1]");
        }
    }

    @Test
    void afterCloseTheCallerRunsEverything() {
        ConcurrentRuns runs = new ConcurrentRuns(4, "test");
        runs.close();
        Set<String> threads = ConcurrentHashMap.newKeySet();
        runs.forEach(6, i -> threads.add(Thread.currentThread().getName()));
        assertThat(threads).containsExactly(Thread.currentThread().getName());
    }

    @Test
    void thePropertyOverridesThePoolsThreadCount() {
        String before = System.getProperty(ConcurrentRuns.PROPERTY);
        try {
            System.setProperty(ConcurrentRuns.PROPERTY, "5");
            try (ConcurrentRuns runs = ConcurrentRuns.forSharedPool(2, "test")) {
                assertThat(runs.threads()).isEqualTo(5);
            }
            System.setProperty(ConcurrentRuns.PROPERTY, "0");
            assertThatThrownBy(() -> ConcurrentRuns.forSharedPool(2, "test"))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(ConcurrentRuns.PROPERTY);
        } finally {
            if (before == null) {
                System.clearProperty(ConcurrentRuns.PROPERTY);
            } else {
                System.setProperty(ConcurrentRuns.PROPERTY, before);
            }
        }
    }
}
