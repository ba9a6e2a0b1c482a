package dev.loupe.flink.fetch;

import static dev.loupe.flink.fetch.FlakyServer.IMAGE;
import static dev.loupe.flink.fetch.FlakyServer.ok;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.ErrorCode;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.hc.client5.http.io.DetachedSocketFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The connection goes to the address the policy checked: the HTTP client has no resolver of its own, so a DNS
 * answer that changes between the check and the connect (rebinding) cannot steer it to an internal address. The
 * test network is loopback only: the sockets here record every connect and refuse any that is not to loopback.
 */
class DnsPinningTest {
    /** A public address (TEST-NET-3, never contacted: the recording sockets refuse it). */
    private static final InetAddress PUBLIC = address(203, 0, 113, 7);
    private static final InetAddress LOOPBACK = address(127, 0, 0, 1);

    private FlakyServer server;
    private final List<InetSocketAddress> connects = new CopyOnWriteArrayList<>();
    private final AtomicInteger lookups = new AtomicInteger();

    /** Sockets that record where they connect and only ever reach loopback. */
    private final DetachedSocketFactory loopbackOnly = proxy -> new Socket() {
        @Override
        public void connect(SocketAddress endpoint, int timeout) throws IOException {
            InetSocketAddress target = (InetSocketAddress) endpoint;
            connects.add(target);
            if (!target.getAddress().isLoopbackAddress()) {
                throw new ConnectException("the test network reaches loopback only, not " + target);
            }
            super.connect(endpoint, timeout);
        }
    };

    private static InetAddress address(int a, int b, int c, int d) {
        try {
            return InetAddress.getByAddress(new byte[] {(byte) a, (byte) b, (byte) c, (byte) d});
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    @BeforeEach
    void start() throws Exception {
        server = new FlakyServer().on("/a.jpg", ok());
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private ImageFetcher fetcher(List<String> allowed, AddressPolicy.HostLookup lookup) {
        AddressPolicy policy = new AddressPolicy(allowed, host -> {
            lookups.incrementAndGet();
            return lookup.resolve(host);
        });
        return new ImageFetcher(List.of(), 1 << 20, Duration.ofSeconds(5), policy, ImageFetcher.DEFAULT_MAX_REDIRECTS,
                new HttpFetchOptions(3, Duration.ofMillis(10), Duration.ofMillis(50), 4, "Loupe-test"),
                FetchEvents.NONE, loopbackOnly, ImageFetcher.SYSTEM_TLS);
    }

    @Test
    void aRebindingAnswerNeverReachesLoopback() {
        // the first lookup answers a public address, every later one loopback (a rebinding DNS server)
        AtomicInteger answers = new AtomicInteger();
        try (ImageFetcher fetcher = fetcher(List.of(), host -> new InetAddress[] {
                answers.getAndIncrement() == 0 ? PUBLIC : LOOPBACK})) {
            String url = "http://rebind.test:" + server.port() + "/a.jpg";
            // attempt 1 connects to the checked public address (refused by the test network: a transient fault);
            // attempt 2 resolves again, gets loopback, and the policy refuses it before any connect
            assertThatThrownBy(() -> fetcher.fetch(url)).isInstanceOfSatisfying(AnnotationException.class,
                    e -> assertThat(e.code()).as(e.getMessage()).isEqualTo(ErrorCode.ADDRESS_NOT_ALLOWED));
        }
        assertThat(connects).containsExactly(new InetSocketAddress(PUBLIC, server.port()));
        assertThat(lookups).as("one lookup per connection attempt, and nothing else").hasValue(2);
        assertThat(server.hits("/a.jpg")).isZero();
    }

    @Test
    void aHostThatResolvesOnlyToLoopbackIsRefusedWithoutConnecting() {
        try (ImageFetcher fetcher = fetcher(List.of(), host -> new InetAddress[] {LOOPBACK})) {
            assertThatThrownBy(() -> fetcher.fetch("http://internal.test:" + server.port() + "/a.jpg"))
                    .isInstanceOfSatisfying(AnnotationException.class,
                            e -> assertThat(e.code()).isEqualTo(ErrorCode.ADDRESS_NOT_ALLOWED));
        }
        assertThat(connects).isEmpty();
        assertThat(server.hits("/a.jpg")).isZero();
        assertThat(lookups).hasValue(1);
    }

    @Test
    void theClientConnectsToTheCheckedAnswerAndNeverResolvesOnItsOwn() throws Exception {
        // images.test exists only in the policy's resolver: the fetch works only if the client uses its answer
        try (ImageFetcher fetcher = fetcher(List.of("images.test"), host -> {
            if (!host.equals("images.test")) {
                throw new UnknownHostException(host);
            }
            return new InetAddress[] {LOOPBACK};
        })) {
            assertThat(fetcher.fetch("http://images.test:" + server.port() + "/a.jpg")).containsExactly(IMAGE);
            assertThat(fetcher.fetch("http://images.test:" + server.port() + "/a.jpg")).containsExactly(IMAGE);
        }
        assertThat(connects).containsExactly(new InetSocketAddress(LOOPBACK, server.port()));
        assertThat(lookups).as("a reused connection needs no new lookup").hasValue(1);
    }

    @Test
    void everyRedirectHopIsResolvedAndCheckedTheSameWay() {
        server.on("/hop", ex -> {
            ex.getResponseHeaders().add("Location", "http://internal.test:" + server.port() + "/a.jpg");
            FlakyServer.respond(ex, 302, new byte[0]);
        });
        try (ImageFetcher fetcher = fetcher(List.of("images.test"), host -> new InetAddress[] {LOOPBACK})) {
            assertThatThrownBy(() -> fetcher.fetch("http://images.test:" + server.port() + "/hop"))
                    .isInstanceOfSatisfying(AnnotationException.class,
                            e -> assertThat(e.code()).isEqualTo(ErrorCode.ADDRESS_NOT_ALLOWED));
        }
        assertThat(server.hits("/hop")).isEqualTo(1);
        assertThat(server.hits("/a.jpg")).isZero();
    }
}
