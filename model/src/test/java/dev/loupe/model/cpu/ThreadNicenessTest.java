package dev.loupe.model.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class ThreadNicenessTest {

    /** Runs {@code body} on a fresh thread, so the test JVM's own threads keep their priority. */
    private static <T> T onFreshThread(java.util.concurrent.Callable<T> body) throws Exception {
        CompletableFuture<T> result = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                result.complete(body.call());
            } catch (Throwable e) {
                result.completeExceptionally(e);
            }
        });
        t.start();
        t.join();
        return result.get();
    }

    @Test
    void aThreadRaisesOnlyItsOwnNiceValueAndThreadsItStartsLaterInheritIt() throws Exception {
        assumeTrue(ThreadNiceness.supported(), "per-thread nice values need Linux");
        int before = ThreadNiceness.current().orElseThrow();
        int target = Math.min(ThreadNiceness.MAX, before + 3);
        int[] seen = onFreshThread(() -> {
            assertThat(ThreadNiceness.atLeast(target)).isTrue();
            AtomicReference<OptionalInt> child = new AtomicReference<>();
            Thread c = new Thread(() -> child.set(ThreadNiceness.current()));
            c.start();
            c.join();
            return new int[] {ThreadNiceness.current().orElseThrow(), child.get().orElseThrow()};
        });
        assertThat(seen[0]).isEqualTo(target);
        assertThat(seen[1]).as("a thread started afterwards").isEqualTo(target);
        assertThat(ThreadNiceness.current().orElseThrow()).as("the calling test thread").isEqualTo(before);
    }

    @Test
    void aWeakerValueIsKeptRatherThanLoweredAndZeroChangesNothing() throws Exception {
        assumeTrue(ThreadNiceness.supported(), "per-thread nice values need Linux");
        int before = ThreadNiceness.current().orElseThrow();
        int high = Math.min(ThreadNiceness.MAX, before + 6);
        int after = onFreshThread(() -> {
            assertThat(ThreadNiceness.atLeast(high)).isTrue();
            assertThat(ThreadNiceness.atLeast(Math.max(1, high - 4))).isTrue();
            assertThat(ThreadNiceness.atLeast(0)).isTrue();
            return ThreadNiceness.current().orElseThrow();
        });
        assertThat(after).isEqualTo(high);
    }

    @Test
    void theJitCompilerThreadsAreRaisedAndNoOtherThread() {
        assumeTrue(ThreadNiceness.supported(), "per-thread nice values need Linux");
        List<Integer> compilers = ThreadNiceness.threadsNamed(name -> name.matches("C[12] CompilerThre.*"));
        assumeTrue(!compilers.isEmpty(), "a JVM with JIT compiler threads");
        int caller = ThreadNiceness.current().orElseThrow();
        // 1, the weakest step: the test JVM's compilers keep almost all of their share for the tests after this one
        int target = Math.max(1, compilers.stream().mapToInt(tid -> ThreadNiceness.of(tid).orElse(0)).max().orElseThrow());

        assertThat(ThreadNiceness.compilerThreadsAtLeast(target)).isEqualTo(compilers.size());

        assertThat(compilers).allSatisfy(tid -> assertThat(ThreadNiceness.of(tid).orElseThrow()).isEqualTo(target));
        assertThat(ThreadNiceness.current().orElseThrow()).as("the calling thread").isEqualTo(caller);
        assertThat(ThreadNiceness.compilerThreadsAtLeast(0)).as("0 changes nothing").isZero();
    }

    @Test
    void valuesOutsideLinuxsRangeAreRefused() {
        assertThatThrownBy(() -> ThreadNiceness.compilerThreadsAtLeast(20)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> ThreadNiceness.atLeast(20)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("0..19");
        assertThatThrownBy(() -> ThreadNiceness.atLeast(-1)).isInstanceOf(IllegalArgumentException.class);
    }
}
