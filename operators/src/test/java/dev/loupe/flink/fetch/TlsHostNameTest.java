package dev.loupe.flink.fetch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import dev.loupe.model.api.AnnotationException;
import dev.loupe.model.api.ErrorCode;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.apache.hc.client5.http.ssl.DefaultClientTlsStrategy;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * With the connection pinned to the checked address, TLS is still verified against the URI's host name: an https
 * server on loopback with a certificate for {@code images.test} is fetched as {@code https://images.test} (resolved
 * by the policy to 127.0.0.1) but refused as {@code https://127.0.0.1}, whose name the certificate does not carry.
 */
class TlsHostNameTest {
    private static final char[] PASSWORD = "changeit".toCharArray();

    @TempDir
    Path tmp;

    private HttpsServer server;
    private ExecutorService executor;
    private SSLContext clientTls;

    @BeforeEach
    void start() throws Exception {
        Path store = tmp.resolve("server.p12");
        Process keytool = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
                "-genkeypair", "-alias", "server", "-keyalg", "EC", "-groupname", "secp256r1",
                "-dname", "CN=images.test", "-ext", "SAN=dns:images.test", "-validity", "2",
                "-keystore", store.toString(), "-storetype", "PKCS12",
                "-storepass", new String(PASSWORD), "-keypass", new String(PASSWORD))
                .redirectErrorStream(true).start();
        String keytoolOutput = new String(keytool.getInputStream().readAllBytes());
        assertThat(keytool.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(keytool.exitValue()).as(keytoolOutput).isZero();
        KeyStore keys = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(store)) {
            keys.load(in, PASSWORD);
        }
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(keys, PASSWORD);
        SSLContext serverTls = SSLContext.getInstance("TLS");
        serverTls.init(kmf.getKeyManagers(), null, null);
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(keys);   // the client trusts exactly this certificate
        clientTls = SSLContext.getInstance("TLS");
        clientTls.init(null, tmf.getTrustManagers(), null);

        server = HttpsServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.setHttpsConfigurator(new HttpsConfigurator(serverTls));
        executor = Executors.newCachedThreadPool();
        server.setExecutor(executor);
        server.createContext("/a.jpg", ex -> {
            ex.sendResponseHeaders(200, FlakyServer.IMAGE.length);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(FlakyServer.IMAGE);
            }
        });
        server.start();
    }

    @AfterEach
    void stop() {
        server.stop(0);
        executor.shutdownNow();
    }

    private ImageFetcher fetcher() {
        AddressPolicy policy = new AddressPolicy(List.of("images.test", "127.0.0.1"), host -> {
            if (host.equals("images.test")) {
                return new InetAddress[] {InetAddress.getLoopbackAddress()};
            }
            return InetAddress.getAllByName(host);
        });
        return new ImageFetcher(List.of(), 1 << 20, Duration.ofSeconds(5), policy, ImageFetcher.DEFAULT_MAX_REDIRECTS,
                new HttpFetchOptions(1, Duration.ZERO, Duration.ZERO, 4, "Loupe-test"), FetchEvents.NONE,
                ImageFetcher.INTERRUPTIBLE_SOCKETS, new DefaultClientTlsStrategy(clientTls));
    }

    @Test
    void thePinnedConnectionIsVerifiedAgainstTheHostName() throws Exception {
        int port = server.getAddress().getPort();
        try (ImageFetcher fetcher = fetcher()) {
            assertThat(fetcher.fetch("https://images.test:" + port + "/a.jpg")).containsExactly(FlakyServer.IMAGE);
            assertThatThrownBy(() -> fetcher.fetch("https://127.0.0.1:" + port + "/a.jpg"))
                    .isInstanceOfSatisfying(AnnotationException.class, e -> {
                        assertThat(e.code()).isEqualTo(ErrorCode.FETCH_FAILED);
                        assertThat(e.getMessage()).contains("SSLPeerUnverifiedException", "Certificate for <127.0.0.1>");
                    });
        }
    }
}
