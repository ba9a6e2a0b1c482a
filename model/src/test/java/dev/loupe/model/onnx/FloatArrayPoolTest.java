package dev.loupe.model.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class FloatArrayPoolTest {

    @Test
    void anArrayGivenBackServesTheNextTakeOfItsLengthOnly() {
        FloatArrayPool pool = new FloatArrayPool(1 << 20);
        float[] first = pool.take(12);
        assertThat(first).hasSize(12);

        pool.give(first);
        assertThat(pool.idleBytes()).isEqualTo(48);
        float[] other = pool.take(13);
        assertThat(other).hasSize(13).isNotSameAs(first);
        assertThat(pool.take(12)).isSameAs(first);
        assertThat(pool.take(12)).isNotSameAs(first);   // taken already: a new one
        assertThat(pool.idleBytes()).isZero();
        assertThat(pool.takenAndReused()).containsExactly(4, 1);
    }

    @Test
    void keepsNoMoreIdleBytesThanItsBound() {
        FloatArrayPool pool = new FloatArrayPool(100);
        float[] a = new float[20];
        float[] b = new float[10];
        pool.give(a);   // 80 bytes
        pool.give(b);   // 120 > 100: left to the collector
        pool.give(null);
        assertThat(pool.idleBytes()).isEqualTo(80);
        assertThat(pool.take(10)).isNotSameAs(b);
        assertThat(pool.take(20)).isSameAs(a);
        assertThatThrownBy(() -> new FloatArrayPool(-1)).isInstanceOf(IllegalArgumentException.class);
    }
}
