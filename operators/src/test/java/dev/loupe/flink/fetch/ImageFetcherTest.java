package dev.loupe.flink.fetch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.ErrorCode;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageFetcherTest {
    private static final int LIMIT = 100;

    @TempDir
    Path tmp;

    private Path root;
    private Path outside;
    private ImageFetcher fetcher;
    private HttpServer server;
    private final CountDownLatch release = new CountDownLatch(1);

    @BeforeEach
    void setUp() throws Exception {
        root = Files.createDirectories(tmp.resolve("images"));
        outside = Files.createDirectories(tmp.resolve("secret"));
        Files.write(root.resolve("ok.jpg"), new byte[] {1, 2, 3});
        Files.write(root.resolve("empty.jpg"), new byte[0]);
        Files.write(root.resolve("exact.jpg"), new byte[LIMIT]);
        Files.write(root.resolve("big.jpg"), new byte[LIMIT + 1]);
        Files.createDirectories(root.resolve("sub"));
        Files.write(outside.resolve("passwd"), new byte[] {9});
        Files.createSymbolicLink(root.resolve("escape.jpg"), outside.resolve("passwd"));
        Files.createSymbolicLink(root.resolve("escape-dir"), outside);
        Files.createSymbolicLink(root.resolve("inside-link.jpg"), root.resolve("ok.jpg"));
        fetcher = new ImageFetcher(List.of(root), LIMIT, Duration.ofMillis(500), new AddressPolicy(List.of()),
                ImageFetcher.DEFAULT_MAX_REDIRECTS);
    }

    @AfterEach
    void tearDown() {
        release.countDown();
        if (server != null) {
            server.stop(0);
        }
    }

    private static void assertCode(ThrowingCallable call, ErrorCode code) {
        assertThatThrownBy(call).isInstanceOfSatisfying(AnnotationException.class, e -> assertThat(e.code()).isEqualTo(code));
    }

    @Test
    void readsFilesInsideTheRoots() throws Exception {
        assertThat(fetcher.fetch(root.resolve("ok.jpg").toUri().toString())).containsExactly(1, 2, 3);
        assertThat(fetcher.fetch("file://" + root + "/sub/../ok.jpg")).containsExactly(1, 2, 3);
        assertThat(fetcher.fetch(root.resolve("inside-link.jpg").toUri().toString())).containsExactly(1, 2, 3);
        assertThat(fetcher.fetch(root.resolve("exact.jpg").toUri().toString())).hasSize(LIMIT);
    }

    @Test
    void fileFailureCodes() {
        assertCode(() -> fetcher.fetch(root.resolve("missing.jpg").toUri().toString()), ErrorCode.IMAGE_NOT_FOUND);
        assertCode(() -> fetcher.fetch(root.resolve("empty.jpg").toUri().toString()), ErrorCode.IMAGE_EMPTY);
        assertCode(() -> fetcher.fetch(root.resolve("big.jpg").toUri().toString()), ErrorCode.IMAGE_TOO_LARGE);
        assertCode(() -> fetcher.fetch(root.resolve("sub").toUri().toString()), ErrorCode.IMAGE_NOT_FOUND);
    }

    /** Files larger than one read chunk (64 KB) come back whole, byte for byte, up to the limit and not past it. */
    @Test
    void readsFilesOfManyChunksWhole() throws Exception {
        int limit = 200_000;
        byte[] content = new byte[limit];
        new java.util.Random(7).nextBytes(content);
        Files.write(root.resolve("large.jpg"), content);
        Files.write(root.resolve("larger.jpg"), java.util.Arrays.copyOf(content, limit + 1));
        Files.write(root.resolve("part.jpg"), java.util.Arrays.copyOf(content, 65_537));
        ImageFetcher large = new ImageFetcher(List.of(root), limit, Duration.ofSeconds(5), new AddressPolicy(List.of()),
                ImageFetcher.DEFAULT_MAX_REDIRECTS);
        assertThat(large.fetch(root.resolve("large.jpg").toUri().toString())).isEqualTo(content);
        assertThat(large.fetch(root.resolve("part.jpg").toUri().toString()))
                .isEqualTo(java.util.Arrays.copyOf(content, 65_537));
        assertCode(() -> large.fetch(root.resolve("larger.jpg").toUri().toString()), ErrorCode.IMAGE_TOO_LARGE);
    }

    @Test
    void nothingOutsideTheRootsIsReachable() {
        assertCode(() -> fetcher.fetch(outside.resolve("passwd").toUri().toString()), ErrorCode.PATH_NOT_ALLOWED);
        assertCode(() -> fetcher.fetch("file://" + root + "/../secret/passwd"), ErrorCode.PATH_NOT_ALLOWED);
        assertCode(() -> fetcher.fetch("file://" + root + "/sub/../../secret/passwd"), ErrorCode.PATH_NOT_ALLOWED);
        // a sibling folder whose name merely starts with the root's name
        assertCode(() -> fetcher.fetch("file://" + root + "-evil/x.jpg"), ErrorCode.PATH_NOT_ALLOWED);
        // missing files outside the roots are not distinguishable from present ones
        assertCode(() -> fetcher.fetch("file://" + root + "/../nope.jpg"), ErrorCode.PATH_NOT_ALLOWED);
        assertCode(() -> fetcher.fetch(root.resolve("escape.jpg").toUri().toString()), ErrorCode.PATH_NOT_ALLOWED);
        assertCode(() -> fetcher.fetch(root.resolve("escape-dir/passwd").toUri().toString()), ErrorCode.PATH_NOT_ALLOWED);
        assertCode(() -> fetcher.fetch("file:relative/ok.jpg"), ErrorCode.PATH_NOT_ALLOWED);
        assertCode(() -> fetcher.fetch("file://otherhost" + root + "/ok.jpg"), ErrorCode.PATH_NOT_ALLOWED);
        ImageFetcher noRoots = new ImageFetcher(List.of(), LIMIT, Duration.ofSeconds(1), new AddressPolicy(List.of()),
                ImageFetcher.DEFAULT_MAX_REDIRECTS);
        assertCode(() -> noRoots.fetch(root.resolve("ok.jpg").toUri().toString()), ErrorCode.PATH_NOT_ALLOWED);
    }

    @Test
    void unknownSchemesAreUnsupported() {
        assertCode(() -> fetcher.fetch("nosuchfs://bucket/key.jpg"), ErrorCode.UNSUPPORTED_SCHEME);
        assertCode(() -> fetcher.fetch("s3://bucket/key.jpg"), ErrorCode.UNSUPPORTED_SCHEME);
    }

    @Test
    void otherSchemesAreReadThroughFlinkFileSystemsWithTheSameLimits() throws Exception {
        String scheme = dev.loupe.flink.testing.LocalBackedFileSystemFactory.SCHEME;
        // no root check here: the roots guard the local disk reached by file: URIs, not a remote store
        assertThat(fetcher.fetch(scheme + "://" + outside.resolve("passwd"))).containsExactly(9);
        assertCode(() -> fetcher.fetch(scheme + "://" + root.resolve("big.jpg")), ErrorCode.IMAGE_TOO_LARGE);
        assertCode(() -> fetcher.fetch(scheme + "://" + root.resolve("empty.jpg")), ErrorCode.IMAGE_EMPTY);
        assertCode(() -> fetcher.fetch(scheme + "://" + root.resolve("missing.jpg")), ErrorCode.IMAGE_NOT_FOUND);
    }

    @Test
    void inlineImagesFollowTheSameLimits() throws Exception {
        assertThat(fetcher.checkInline(new byte[] {1})).containsExactly(1);
        assertCode(() -> fetcher.checkInline(new byte[0]), ErrorCode.IMAGE_EMPTY);
        assertCode(() -> fetcher.checkInline(new byte[LIMIT + 1]), ErrorCode.IMAGE_TOO_LARGE);
    }

    @Test
    void http() throws Exception {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/ok.jpg", ex -> respond(ex, 200, new byte[] {7, 8}, false));
        server.createContext("/missing.jpg", ex -> respond(ex, 404, new byte[0], false));
        server.createContext("/broken.jpg", ex -> respond(ex, 500, new byte[] {1}, false));
        server.createContext("/big.jpg", ex -> respond(ex, 200, new byte[LIMIT * 50], false));
        server.createContext("/big-chunked.jpg", ex -> respond(ex, 200, new byte[LIMIT * 50], true));
        server.createContext("/empty.jpg", ex -> respond(ex, 200, new byte[0], false));
        server.createContext("/slow.jpg", ex -> {
            try {
                release.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            respond(ex, 200, new byte[] {1}, false);
        });
        server.setExecutor(java.util.concurrent.Executors.newCachedThreadPool());
        server.start();
        String base = "http://127.0.0.1:" + server.getAddress().getPort();
        // generous: the slow handler blocks until the test ends, so only the timeout can end that fetch;
        // the test server is on loopback, which only an explicit allowlist entry admits
        ImageFetcher fetcher = new ImageFetcher(List.of(root), LIMIT, Duration.ofSeconds(3),
                new AddressPolicy(List.of("127.0.0.1")), 5);

        assertThat(fetcher.fetch(base + "/ok.jpg")).containsExactly(7, 8);
        assertCode(() -> fetcher.fetch(base + "/missing.jpg"), ErrorCode.IMAGE_NOT_FOUND);
        assertCode(() -> fetcher.fetch(base + "/broken.jpg"), ErrorCode.FETCH_FAILED);
        assertCode(() -> fetcher.fetch(base + "/big.jpg"), ErrorCode.IMAGE_TOO_LARGE);
        assertCode(() -> fetcher.fetch(base + "/big-chunked.jpg"), ErrorCode.IMAGE_TOO_LARGE);
        assertCode(() -> fetcher.fetch(base + "/empty.jpg"), ErrorCode.IMAGE_EMPTY);
        assertCode(() -> fetcher.fetch(base + "/slow.jpg"), ErrorCode.FETCH_TIMEOUT);
    }

    private static void respond(com.sun.net.httpserver.HttpExchange ex, int status, byte[] body, boolean chunked)
            throws java.io.IOException {
        ex.sendResponseHeaders(status, chunked ? 0 : (body.length == 0 ? -1 : body.length));
        try (OutputStream out = ex.getResponseBody()) {
            out.write(body);
        } catch (java.io.IOException e) {
            // the client stopped reading at the limit
        }
        ex.close();
    }
}
