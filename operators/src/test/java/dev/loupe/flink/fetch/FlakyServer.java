package dev.loupe.flink.fetch;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A local HTTP server on 127.0.0.1 that fails on purpose: each path answers its requests in turn from a script
 * (503 with Retry-After, 429, a reset connection, ...) and counts them; it records User-Agents, client ports and the
 * most requests it ever had in flight at once.
 */
final class FlakyServer implements AutoCloseable {
    /** One scripted answer to one request. */
    @FunctionalInterface
    interface Answer {
        void answer(HttpExchange exchange) throws IOException;
    }

    static final byte[] IMAGE = {7, 8, 9};

    private final HttpServer server;
    private final ExecutorService executor = Executors.newCachedThreadPool();
    private final Map<String, AtomicInteger> hits = new ConcurrentHashMap<>();
    final List<String> userAgents = new CopyOnWriteArrayList<>();
    final List<Integer> clientPorts = new CopyOnWriteArrayList<>();
    private final AtomicInteger inFlight = new AtomicInteger();
    private final AtomicInteger maxInFlight = new AtomicInteger();

    FlakyServer() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.setExecutor(executor);
        server.start();
    }

    /** Serves {@code path}: request n gets {@code answers[n]}, requests past the script get the last answer. */
    FlakyServer on(String path, Answer... answers) {
        AtomicInteger count = hits.computeIfAbsent(path, p -> new AtomicInteger());
        server.createContext(path, ex -> {
            int n = count.getAndIncrement();
            int now = inFlight.incrementAndGet();
            maxInFlight.accumulateAndGet(now, Math::max);
            userAgents.add(String.valueOf(ex.getRequestHeaders().getFirst("User-Agent")));
            clientPorts.add(ex.getRemoteAddress().getPort());
            try {
                answers[Math.min(n, answers.length - 1)].answer(ex);
            } finally {
                inFlight.decrementAndGet();
            }
        });
        return this;
    }

    String url(String path) {
        return "http://127.0.0.1:" + port() + path;
    }

    int port() {
        return server.getAddress().getPort();
    }

    int hits(String path) {
        return hits.getOrDefault(path, new AtomicInteger()).get();
    }

    int maxInFlight() {
        return maxInFlight.get();
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }

    static Answer ok() {
        return ex -> respond(ex, 200, IMAGE);
    }

    static Answer status(int code, String retryAfter) {
        return ex -> {
            if (retryAfter != null) {
                ex.getResponseHeaders().add("Retry-After", retryAfter);
            }
            respond(ex, code, new byte[] {1});
        };
    }

    /** Closes the connection without any response (the client sees a reset / no response). */
    static Answer reset() {
        return HttpExchange::close;
    }

    /** Answers 200 after {@code millis}. */
    static Answer slow(long millis) {
        return ex -> {
            try {
                Thread.sleep(millis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            respond(ex, 200, IMAGE);
        };
    }

    /** Answers 200 at once, then sends one byte every 100 ms for {@code millis}. */
    static Answer trickle(long millis) {
        return ex -> {
            ex.sendResponseHeaders(200, 0);
            try (OutputStream out = ex.getResponseBody()) {
                long end = System.currentTimeMillis() + millis;
                while (System.currentTimeMillis() < end) {
                    out.write(1);
                    out.flush();
                    Thread.sleep(100);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (IOException e) {
                // the client gave up
            }
        };
    }

    static void respond(HttpExchange ex, int code, byte[] body) throws IOException {
        ex.sendResponseHeaders(code, body.length == 0 ? -1 : body.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(body);
        }
    }
}
