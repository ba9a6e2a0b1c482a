package dev.loupe.model.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loupe.model.api.RuntimeOptions.Device;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;

/** Which activation memory sessions get: malloc where it keeps freed memory, else arenas; the property overrides. */
class ActivationMemoryTest {
    private final AtomicInteger asked = new AtomicInteger();

    private BooleanSupplier malloc(boolean keepsFreed) {
        return () -> {
            asked.incrementAndGet();
            return keepsFreed;
        };
    }

    @Test
    void cpuSessionsShareMallocWhereItKeepsFreedMemory() {
        assertThat(ActivationMemory.choose(null, Device.CPU, malloc(true))).isEqualTo(ActivationMemory.MALLOC);
        assertThat(ActivationMemory.choose(" ", Device.CPU, malloc(false))).isEqualTo(ActivationMemory.ARENA);
    }

    @Test
    void cudaSessionsKeepTheirAllocatorAndLeaveMallocAlone() {
        assertThat(ActivationMemory.choose(null, Device.CUDA, malloc(true))).isEqualTo(ActivationMemory.ARENA);
        assertThat(asked).hasValue(0);
    }

    @Test
    void thePropertyOverridesAndMallocIsTunedWhenAskedFor() {
        assertThat(ActivationMemory.choose("arena", Device.CPU, malloc(true))).isEqualTo(ActivationMemory.ARENA);
        assertThat(asked).hasValue(0);
        assertThat(ActivationMemory.choose("MALLOC", Device.CUDA, malloc(false))).isEqualTo(ActivationMemory.MALLOC);
        assertThat(asked).hasValue(1);
        assertThatThrownBy(() -> ActivationMemory.choose("pool", Device.CPU, malloc(true)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(ActivationMemory.PROPERTY);
    }
}
