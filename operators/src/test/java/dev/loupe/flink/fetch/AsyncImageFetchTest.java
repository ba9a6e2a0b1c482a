package dev.loupe.flink.fetch;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.flink.PipelineOptions;
import dev.loupe.flink.failure.Fallible;
import dev.loupe.flink.failure.StageFailure;
import dev.loupe.flink.request.ValidatedRequest;
import dev.loupe.model.api.ErrorCode;
import dev.loupe.model.api.GenerationConfig;
import dev.loupe.model.api.Task;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.flink.api.common.functions.DefaultOpenContext;
import org.apache.flink.streaming.api.functions.async.CollectionSupplier;
import org.apache.flink.streaming.api.functions.async.ResultFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AsyncImageFetchTest {
    @TempDir
    Path root;

    private static ValidatedRequest request(String id, String uri, byte[] inline) {
        return new ValidatedRequest(id, uri, inline, Task.CAPTION, "p", List.of(), GenerationConfig.GREEDY,
                Map.of("k", "v"));
    }

    /** Captures what the function completes its future with. */
    private static final class Capture implements ResultFuture<Fallible<FetchedImage>> {
        final CompletableFuture<List<Fallible<FetchedImage>>> result = new CompletableFuture<>();

        @Override
        public void complete(Collection<Fallible<FetchedImage>> values) {
            result.complete(new ArrayList<>(values));
        }

        @Override
        public void completeExceptionally(Throwable error) {
            result.completeExceptionally(error);
        }

        @Override
        public void complete(CollectionSupplier<Fallible<FetchedImage>> supplier) {
            try {
                complete(supplier.get());
            } catch (Exception e) {
                result.completeExceptionally(e);
            }
        }

        Fallible<FetchedImage> get() throws Exception {
            List<Fallible<FetchedImage>> values = result.get(10, TimeUnit.SECONDS);
            assertThat(values).hasSize(1);
            return values.get(0);
        }
    }

    @Test
    void theInputRequestIsLeftUnchangedSoARestoredCheckpointCanReplayIt() throws Exception {
        AsyncImageFetch fetch = new AsyncImageFetch(PipelineOptions.defaults().fetch());
        fetch.open(DefaultOpenContext.INSTANCE);
        try {
            ValidatedRequest input = request("1", null, new byte[] {7, 8});
            Capture first = new Capture();
            fetch.asyncInvoke(input, first);
            assertThat(first.get().value.bytes).containsExactly(7, 8);
            assertThat(input.imageBytes).as("input after the fetch").containsExactly(7, 8);

            Capture replayed = new Capture(); // as the async operator does with its checkpointed inputs
            fetch.asyncInvoke(input, replayed);
            assertThat(replayed.get().value.bytes).containsExactly(7, 8);
        } finally {
            fetch.close();
        }
    }

    @Test
    void completesWithBytesOrAFailureRecordNeverAnException() throws Exception {
        Files.write(root.resolve("a.jpg"), new byte[] {4, 5});
        AsyncImageFetch fetch = new AsyncImageFetch(PipelineOptions.builder().fileRoots(List.of(root)).build().fetch());
        fetch.open(DefaultOpenContext.INSTANCE);
        try {
            Capture ok = new Capture();
            fetch.asyncInvoke(request("1", root.resolve("a.jpg").toUri().toString(), null), ok);
            assertThat(ok.get().value.bytes).containsExactly(4, 5);
            assertThat(ok.get().value.request.id).isEqualTo("1");

            Capture inline = new Capture();
            fetch.asyncInvoke(request("2", null, new byte[] {6}), inline);
            assertThat(inline.get().value.bytes).containsExactly(6);

            Capture missing = new Capture();
            fetch.asyncInvoke(request("3", root.resolve("nope.jpg").toUri().toString(), null), missing);
            StageFailure failure = missing.get().failure;
            assertThat(failure.code).isEqualTo(ErrorCode.IMAGE_NOT_FOUND);
            assertThat(failure.stage).isEqualTo("fetch");
            assertThat(failure.id).isEqualTo("3");
            assertThat(failure.metadata).containsEntry("k", "v");

            Capture timedOut = new Capture();
            fetch.timeout(request("4", "http://127.0.0.1:9/slow.jpg", null), timedOut);
            assertThat(timedOut.get().failure.code).isEqualTo(ErrorCode.FETCH_TIMEOUT);
            assertThat(timedOut.get().failure.toRecord(1L).getErrorCode()).isEqualTo("FETCH_TIMEOUT");
        } finally {
            fetch.close();
        }
    }

    @Test
    void flinksTimeoutInterruptsTheFetchSoItsThreadServesTheNextRequest() throws Exception {
        Files.write(root.resolve("b.jpg"), new byte[] {1});
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        com.sun.net.httpserver.HttpServer server =
                com.sun.net.httpserver.HttpServer.create(new java.net.InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/slow.jpg", ex -> {
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            ex.sendResponseHeaders(200, -1);
            ex.close();
        });
        server.setExecutor(java.util.concurrent.Executors.newCachedThreadPool());
        server.start();
        // one fetch thread, and an HTTP timeout far longer than the test
        AsyncImageFetch fetch = new AsyncImageFetch(PipelineOptions.builder().fileRoots(List.of(root))
                .allowedHosts(List.of("127.0.0.1"))   // the test server is on loopback, refused by default
                .fetchConcurrency(1).fetchTimeout(java.time.Duration.ofMinutes(10)).fetchMaxBytes(1 << 20).build().fetch());
        fetch.open(DefaultOpenContext.INSTANCE);
        try {
            ValidatedRequest slow = request("slow", "http://127.0.0.1:" + server.getAddress().getPort() + "/slow.jpg", null);
            Capture slowResult = new Capture();
            fetch.asyncInvoke(slow, slowResult);
            fetch.timeout(slow, slowResult);
            assertThat(slowResult.get().failure.code).isEqualTo(ErrorCode.FETCH_TIMEOUT);

            Capture next = new Capture();
            fetch.asyncInvoke(request("next", root.resolve("b.jpg").toUri().toString(), null), next);
            assertThat(next.get().value.bytes).containsExactly(1);
        } finally {
            release.countDown();
            fetch.close();
            server.stop(0);
        }
    }
}
