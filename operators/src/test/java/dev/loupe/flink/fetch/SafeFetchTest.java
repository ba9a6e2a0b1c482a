package dev.loupe.flink.fetch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.loupe.flink.LoupeOptions;
import dev.loupe.flink.PipelineOptions;
import dev.loupe.flink.request.UriRedaction;
import dev.loupe.flink.request.ValidatedRequest;
import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.ErrorCode;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.flink.configuration.Configuration;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The http(s) fetcher's network guards: internal addresses refused by default, redirects checked hop by hop. */
class SafeFetchTest {
    @TempDir
    Path tmp;

    private HttpServer server;
    private String base;
    private final AtomicInteger hits = new AtomicInteger();

    @BeforeEach
    void startServer() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/ok.jpg", ex -> respond(ex, 200, null, new byte[] {7, 8}));
        server.createContext("/to-ok", ex -> respond(ex, 302, "/ok.jpg", null));
        server.createContext("/to-private", ex -> respond(ex, 302, "http://10.1.2.3/x.jpg", null));
        server.createContext("/to-metadata", ex -> respond(ex, 301, "http://169.254.169.254/latest/meta-data/", null));
        server.createContext("/to-file", ex -> respond(ex, 302, "file:///etc/passwd", null));
        server.createContext("/loop-a", ex -> respond(ex, 307, "/loop-b", null));
        server.createContext("/loop-b", ex -> respond(ex, 308, "/loop-a", null));
        server.createContext("/chain", ex -> {
            int n = Integer.parseInt(ex.getRequestURI().getQuery() == null ? "0" : ex.getRequestURI().getQuery());
            respond(ex, 302, "/chain?" + (n + 1), null);
        });
        server.createContext("/no-location", ex -> respond(ex, 302, null, null));
        server.start();
        base = "http://127.0.0.1:" + server.getAddress().getPort();
    }

    @AfterEach
    void stopServer() {
        server.stop(0);
    }

    private void respond(HttpExchange ex, int status, String location, byte[] body) throws IOException {
        hits.incrementAndGet();
        if (location != null) {
            ex.getResponseHeaders().add("Location", location);
        }
        ex.sendResponseHeaders(status, body == null ? -1 : body.length);
        if (body != null) {
            try (OutputStream out = ex.getResponseBody()) {
                out.write(body);
            }
        }
        ex.close();
    }

    private ImageFetcher fetcher(List<String> allowed, int redirects) {
        return new ImageFetcher(List.of(tmp), 1000, Duration.ofSeconds(5), new AddressPolicy(allowed), redirects);
    }

    private static AnnotationException failure(ThrowingCallable call, ErrorCode code) {
        AnnotationException[] caught = new AnnotationException[1];
        assertThatThrownBy(call).isInstanceOfSatisfying(AnnotationException.class, e -> {
            assertThat(e.code()).as(e.getMessage()).isEqualTo(code);
            caught[0] = e;
        });
        return caught[0];
    }

    @Test
    void internalAddressesAreRefusedByDefaultWithoutConnecting() {
        ImageFetcher strict = fetcher(List.of(), 5);
        for (String uri : List.of(base + "/ok.jpg", "http://localhost:1/x.jpg", "http://[::1]:1/x.jpg",
                "http://10.0.0.1/x.jpg", "http://172.16.5.4/x.jpg", "http://192.168.1.1/x.jpg",
                "http://100.64.0.1/x.jpg", "http://169.254.169.254/latest/meta-data/", "http://169.254.1.1/x.jpg",
                "http://[fe80::1]/x.jpg", "http://[fc00::1]/x.jpg", "http://[fd00:ec2::254]/latest/",
                "http://0.0.0.0/x.jpg", "http://[::]/x.jpg", "http://224.0.0.1/x.jpg", "http://[ff02::1]/x.jpg",
                "http://[::ffff:10.0.0.1]/x.jpg", "http://[64:ff9b::a9fe:a9fe]/x.jpg", "https://127.0.0.1/x.jpg",
                "http://metadata.google.internal/computeMetadata/v1/", "http://METADATA.google.internal./x")) {
            AnnotationException e = failure(() -> strict.fetch(uri), ErrorCode.ADDRESS_NOT_ALLOWED);
            assertThat(e.getMessage()).contains("loupe.fetch.allowed-hosts");
        }
        // other spellings of 127.0.0.1: a 32-bit number resolves to it and is refused; "127.1" is no host for java.net.URI
        failure(() -> strict.fetch("http://2130706433/x.jpg"), ErrorCode.ADDRESS_NOT_ALLOWED);
        failure(() -> strict.fetch("http://127.1/x.jpg"), ErrorCode.FETCH_FAILED);
        assertThat(hits).hasValue(0);
        AnnotationException metadata = failure(() -> strict.fetch("http://169.254.169.254/"), ErrorCode.ADDRESS_NOT_ALLOWED);
        assertThat(metadata.getMessage()).contains("metadata");
    }

    @Test
    void anAllowlistAdmitsHostsIpsAndRanges() throws Exception {
        assertThat(fetcher(List.of("127.0.0.1"), 5).fetch(base + "/ok.jpg")).containsExactly(7, 8);
        assertThat(fetcher(List.of("127.0.0.0/8"), 5).fetch(base + "/ok.jpg")).containsExactly(7, 8);
        assertThat(fetcher(List.of("LOCALHOST"), 5).fetch(base.replace("127.0.0.1", "localhost") + "/ok.jpg"))
                .containsExactly(7, 8);
        // the range admits only itself
        failure(() -> fetcher(List.of("127.0.0.2/32"), 5).fetch(base + "/ok.jpg"), ErrorCode.ADDRESS_NOT_ALLOWED);
        failure(() -> fetcher(List.of("10.0.0.0/8"), 5).fetch(base + "/ok.jpg"), ErrorCode.ADDRESS_NOT_ALLOWED);
    }

    @Test
    void everyRedirectHopIsChecked() throws Exception {
        ImageFetcher loopbackOnly = fetcher(List.of("127.0.0.1"), 5);
        assertThat(loopbackOnly.fetch(base + "/to-ok")).containsExactly(7, 8);
        AnnotationException toPrivate = failure(() -> loopbackOnly.fetch(base + "/to-private"), ErrorCode.ADDRESS_NOT_ALLOWED);
        assertThat(toPrivate.getMessage()).contains("10.1.2.3");
        failure(() -> loopbackOnly.fetch(base + "/to-metadata"), ErrorCode.ADDRESS_NOT_ALLOWED);
        failure(() -> loopbackOnly.fetch(base + "/to-file"), ErrorCode.ADDRESS_NOT_ALLOWED);
        failure(() -> loopbackOnly.fetch(base + "/no-location"), ErrorCode.FETCH_FAILED);
    }

    @Test
    void redirectLoopsAndLongChainsFail() throws Exception {
        ImageFetcher loopbackOnly = fetcher(List.of("127.0.0.1"), 5);
        AnnotationException loop = failure(() -> loopbackOnly.fetch(base + "/loop-a"), ErrorCode.FETCH_FAILED);
        assertThat(loop.getMessage()).contains("redirect loop");
        int before = hits.get();
        AnnotationException chain = failure(() -> loopbackOnly.fetch(base + "/chain"), ErrorCode.FETCH_FAILED);
        assertThat(chain.getMessage()).contains("more than 5 redirects");
        assertThat(hits.get() - before).isEqualTo(6);
        failure(() -> fetcher(List.of("127.0.0.1"), 0).fetch(base + "/to-ok"), ErrorCode.FETCH_FAILED);
    }

    @Test
    void messagesNeverCarryCredentialsOrQueries() {
        ImageFetcher strict = fetcher(List.of(), 5);
        AnnotationException e = failure(() -> strict.fetch("http://alice:s3cret@10.0.0.7/img.jpg?X-Amz-Signature=abc#frag"),
                ErrorCode.ADDRESS_NOT_ALLOWED);
        assertThat(e.getMessage()).doesNotContain("s3cret", "alice", "X-Amz", "abc", "frag");
        AnnotationException missing = failure(() -> strict.fetch("file://" + tmp + "/nope.jpg?token=abc"),
                ErrorCode.PATH_NOT_ALLOWED);
        assertThat(missing.getMessage()).doesNotContain("token");
        AnnotationException scheme = failure(() -> strict.fetch("nosuchfs://key:secret@bucket/a.png?sig=1"),
                ErrorCode.UNSUPPORTED_SCHEME);
        assertThat(scheme.getMessage()).doesNotContain("secret", "sig=");
    }

    @Test
    void redaction() {
        assertThat(UriRedaction.redact("https://user:pw@host:8443/a/b.jpg?token=x&y=z#f"))
                .isEqualTo("https://host:8443/a/b.jpg?…");
        assertThat(UriRedaction.redact("https://host/a.jpg#frag")).isEqualTo("https://host/a.jpg#…");
        assertThat(UriRedaction.redact("s3://bucket/key.jpg")).isEqualTo("s3://bucket/key.jpg");
        assertThat(UriRedaction.redact("file:///data/x.jpg")).isEqualTo("file:///data/x.jpg");
        assertThat(UriRedaction.redact("http://a@b@host/p")).isEqualTo("http://host/p");
        assertThat(UriRedaction.redact("not a uri ?secret")).isEqualTo("not a uri ?…");
        assertThat(UriRedaction.redact("https://h/" + "x".repeat(1000))).hasSize(UriRedaction.MAX_LENGTH + 1);
        assertThat(new ValidatedRequest("i", "https://u:p@h/x?q=1", null, null, null, List.of(), null,
                java.util.Map.of()).imageLabel()).isEqualTo("https://h/x?…");
    }

    @Test
    void addressKinds() throws Exception {
        assertThat(AddressPolicy.internalKind(InetAddress.getByName("93.184.216.34"))).isNull();
        assertThat(AddressPolicy.internalKind(InetAddress.getByName("2606:2800:220:1:248:1893:25c8:1946"))).isNull();
        assertThat(AddressPolicy.internalKind(InetAddress.getByName("100.63.255.255"))).isNull();
        assertThat(AddressPolicy.internalKind(InetAddress.getByName("100.128.0.0"))).isNull();
        assertThat(AddressPolicy.internalKind(InetAddress.getByName("172.32.0.1"))).isNull();
        assertThat(AddressPolicy.internalKind(InetAddress.getByName("100.127.0.1"))).contains("carrier-grade NAT");
        assertThat(AddressPolicy.internalKind(InetAddress.getByName("fd00:ec2::254"))).contains("metadata");
        assertThat(AddressPolicy.internalKind(InetAddress.getByName("127.8.9.10"))).contains("loopback");
    }

    @Test
    void optionsAreReadAndBadEntriesRefusedEarly() {
        Configuration conf = new Configuration();
        conf.setString(LoupeOptions.FETCH_ALLOWED_HOSTS.key(), "127.0.0.1; images.internal ;10.20.0.0/16");
        conf.set(LoupeOptions.FETCH_MAX_REDIRECTS, 2);
        PipelineOptions options = PipelineOptions.from(conf);
        assertThat(options.allowedHosts()).containsExactly("127.0.0.1", "images.internal", "10.20.0.0/16");
        assertThat(options.maxRedirects()).isEqualTo(2);
        assertThat(PipelineOptions.defaults().allowedHosts()).isEmpty();
        assertThat(PipelineOptions.defaults().maxRedirects()).isEqualTo(5);
        assertThatThrownBy(() -> PipelineOptions.builder().allowedHosts(List.of("10.0.0.0/99")).build())
                .hasMessageContaining("loupe.fetch.allowed-hosts");
        assertThatThrownBy(() -> PipelineOptions.builder().maxRedirects(-1).build())
                .hasMessageContaining("loupe.fetch.max-redirects");
    }
}
