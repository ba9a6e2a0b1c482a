package dev.loupe.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Reference counting of {@link SharedRuntimes} with a plain closeable standing in for a model. */
class SharedRuntimesTest {

    static final class Counted implements AutoCloseable {
        final AtomicInteger closes = new AtomicInteger();

        @Override
        public void close() {
            closes.incrementAndGet();
        }
    }

    @Test
    void holdersOfOneKeyShareOneLoadAndTheLastCloseReleasesIt() throws Exception {
        Object key = new Object();
        AtomicInteger loads = new AtomicInteger();
        SharedRuntimes.Loader<Counted> loader = () -> {
            loads.incrementAndGet();
            return new Counted();
        };
        SharedRuntimes.Lease<Counted> a = SharedRuntimes.acquire(key, loader);
        SharedRuntimes.Lease<Counted> b = SharedRuntimes.acquire(key, loader);

        assertThat(b.get()).isSameAs(a.get());
        assertThat(loads).hasValue(1);
        assertThat(SharedRuntimes.references(key)).isEqualTo(2);
        Counted shared = a.get();
        a.close();
        a.close(); // idempotent: drops one reference only
        assertThat(shared.closes).hasValue(0);
        assertThat(SharedRuntimes.references(key)).isEqualTo(1);
        b.close();
        assertThat(shared.closes).hasValue(1);
        assertThat(SharedRuntimes.references(key)).isZero();
        assertThatThrownBy(a::get).isInstanceOf(IllegalStateException.class);

        try (SharedRuntimes.Lease<Counted> c = SharedRuntimes.acquire(key, loader)) {
            assertThat(c.get()).isNotSameAs(shared);
            assertThat(loads).hasValue(2);
        }
    }

    @Test
    void aFailedLoadLeavesNoReference() throws Exception {
        Object key = "failing";
        assertThatThrownBy(() -> SharedRuntimes.acquire(key, () -> {
            throw new IOException("no model here");
        })).hasMessage("no model here");
        assertThat(SharedRuntimes.references(key)).isZero();
        try (SharedRuntimes.Lease<Counted> lease = SharedRuntimes.acquire(key, Counted::new)) {
            assertThat(SharedRuntimes.references(key)).isEqualTo(1);
        }
    }
}
