package dev.loupe.flink;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.loupe.flink.testing.BadImages;
import dev.loupe.flink.testing.TestRequests;
import dev.loupe.model.Models;
import dev.loupe.model.api.AnnotatorFactory;
import dev.loupe.model.api.RuntimeOptions;
import dev.loupe.schemas.AnnotationFailure;
import dev.loupe.schemas.AnnotationRequest;
import dev.loupe.schemas.AnnotationResult;
import dev.loupe.schemas.GenerationOverrides;
import dev.loupe.schemas.ImageSource;
import dev.loupe.schemas.Task;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.generic.GenericRecordBuilder;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.flink.util.CloseableIterator;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A corpus of bad and awkward inputs — odd image encodings, corrupt files, hostile URIs, broken records, invalid
 * options — generated into a temp folder and run, with a few good requests, through ONE real pipeline run on a
 * MiniCluster with the real InstructBLIP fixture model. Each request ends as exactly one result (the awkward but
 * valid images) or exactly one dead-letter record with the expected code and a message; none stops the job.
 */
@Tag("slow")
class BadInputCorpusTest {
    @RegisterExtension
    static final MiniClusterExtension CLUSTER = new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
            .setNumberTaskManagers(1).setNumberSlotsPerTaskManager(1).build());

    private static final int MAX_BYTES = 64 * 1024;
    private static final String SECRET = "s3cr3t-token";

    @TempDir
    Path tmp;

    private final List<byte[]> values = new ArrayList<>();
    /** Request id to expected error code; null: annotated. */
    private final Map<String, String> expected = new LinkedHashMap<>();
    /** Request id to a phrase its failure message must contain. */
    private final Map<String, String> expectedMessage = new HashMap<>();
    /** Undecodable values (they have no id), by a name for messages. */
    private final Map<String, byte[]> undecodable = new LinkedHashMap<>();

    @Test
    void everyBadInputEndsAsOneResultOrOneClearFailureInOneRun() throws Exception {
        Path root = Files.createDirectories(tmp.resolve("images"));
        Path outside = Files.createDirectories(tmp.resolve("private"));
        Files.write(outside.resolve("secret.png"), BadImages.encode(BadImages.noise(4, 4, 1), "png"));
        Files.createSymbolicLink(root.resolve("escape.png"), outside.resolve("secret.png"));

        CountDownLatch release = new CountDownLatch(1);
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        byte[] goodJpeg = BadImages.encode(BadImages.noise(20, 14, 2), "jpeg");
        server.createContext("/good.jpg", ex -> respond(ex, 200, null, goodJpeg));
        server.createContext("/missing.jpg", ex -> respond(ex, 404, null, null));
        server.createContext("/huge.jpg", ex -> respond(ex, 200, null, new byte[MAX_BYTES * 3]));
        server.createContext("/loop-a", ex -> respond(ex, 302, "/loop-b", null));
        server.createContext("/loop-b", ex -> respond(ex, 302, "/loop-a", null));
        server.createContext("/to-private", ex -> respond(ex, 302, "http://192.168.7.7/x.jpg?" + SECRET, null));
        server.createContext("/silent.jpg", ex -> {
            try {
                release.await(60, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            ex.close();
        });
        server.setExecutor(Executors.newCachedThreadPool());
        server.start();
        String http = "http://127.0.0.1:" + server.getAddress().getPort();
        try {
            buildCorpus(root, outside, http);
            run(root);
        } finally {
            release.countDown();
            server.stop(0);
        }
    }

    private void buildCorpus(Path root, Path outside, String http) throws IOException {
        // good requests
        file(root, "good-png", BadImages.encode(BadImages.noise(24, 16, 1), "png"), null);
        uri("good-http-jpeg", http + "/good.jpg", null);
        add(TestRequests.inline("good-vqa", BadImages.encode(BadImages.noise(8, 8, 9), "png"))
                .setTask(Task.VQA).setQuestion("what is it?"), null);
        add(TestRequests.inline("good-rank", BadImages.encode(BadImages.noise(8, 8, 4), "png"))
                .setTask(Task.RANK).setCandidates(List.of("a cat", "a dog")), null);

        // awkward but valid images: annotated
        file(root, "cmyk-jpeg", BadImages.cmykJpeg(), null);
        file(root, "png-16-bit", BadImages.sixteenBitGrey(), null);
        file(root, "grey-png", BadImages.grey(), null);
        file(root, "rgba-png", BadImages.rgba(), null);
        file(root, "palette-png", BadImages.palettePng(), null);
        file(root, "animated-gif", BadImages.animatedGif(), null);
        file(root, "webp", BadImages.webp(), null);
        file(root, "exif-rotated-jpeg", BadImages.exifRotatedJpeg(), null);

        // bad image bytes
        file(root, "truncated-jpeg", BadImages.truncated(BadImages.encode(BadImages.noise(32, 32, 6), "jpeg")), "IMAGE_CORRUPT");
        file(root, "truncated-png", BadImages.truncated(BadImages.encode(BadImages.noise(32, 32, 7), "png")), "IMAGE_CORRUPT");
        file(root, "zero-bytes", new byte[0], "IMAGE_EMPTY");
        file(root, "random-bytes", BadImages.randomBytes(300, 11), "IMAGE_UNSUPPORTED_FORMAT");
        file(root, "png-bomb", BadImages.pngBomb(100_000, 100_000), "IMAGE_TOO_MANY_PIXELS");
        file(root, "svg", BadImages.svg(), "IMAGE_UNSUPPORTED_FORMAT");
        file(root, "text", "this is not an image\n".getBytes(StandardCharsets.UTF_8), "IMAGE_UNSUPPORTED_FORMAT");
        add(TestRequests.inline("inline-zero-bytes", new byte[0]), "IMAGE_EMPTY");

        // where the image comes from
        uri("http-404", http + "/missing.jpg", "IMAGE_NOT_FOUND");
        uri("http-never-answers", http + "/silent.jpg", "FETCH_TIMEOUT");
        uri("http-redirect-loop", http + "/loop-a", "FETCH_FAILED");
        expectedMessage.put("http-redirect-loop", "redirect loop");
        uri("http-over-byte-limit", http + "/huge.jpg", "IMAGE_TOO_LARGE");
        uri("http-redirect-to-private", http + "/to-private", "ADDRESS_NOT_ALLOWED");
        uri("http-cloud-metadata", "http://169.254.169.254/latest/meta-data/iam/security-credentials/", "ADDRESS_NOT_ALLOWED");
        uri("http-credentials-private", "https://admin:" + SECRET + "@10.0.0.8/img.jpg?sig=" + SECRET, "ADDRESS_NOT_ALLOWED");
        uri("file-outside-roots", outside.resolve("secret.png").toUri().toString(), "PATH_NOT_ALLOWED");
        uri("file-dotdot", "file://" + root + "/../private/secret.png", "PATH_NOT_ALLOWED");
        uri("file-symlink-escape", root.resolve("escape.png").toUri().toString(), "PATH_NOT_ALLOWED");
        uri("file-missing", root.resolve("nope.png").toUri().toString(), "IMAGE_NOT_FOUND");
        uri("unknown-scheme", "gopher://example.com/1/image.png", "UNSUPPORTED_SCHEME");
        uri("relative-uri", "images/cat.png", "INVALID_REQUEST");
        add(AnnotationRequest.newBuilder().setId("no-image").setImage(ImageSource.newBuilder().build()), "INVALID_REQUEST");

        // records that are not AnnotationRequests
        undecodable.put("malformed-avro", "definitely not avro".getBytes(StandardCharsets.UTF_8));
        byte[] good = TestRequests.encode(TestRequests.uri("cut", "file:///x.png"));
        undecodable.put("truncated-avro", Arrays.copyOf(good, good.length - 3));
        undecodable.put("unknown-task", withUnknownTask("unknown-task", root.resolve("good-png.png").toUri().toString()));
        values.addAll(undecodable.values());

        // invalid prompts, candidates and options
        String goodImage = root.resolve("good-png.png").toUri().toString();
        add(TestRequests.uri("empty-prompt", goodImage).setPrompt(""), "INVALID_REQUEST");
        expectedMessage.put("empty-prompt", "blank");
        add(TestRequests.uri("vqa-without-question", goodImage).setTask(Task.VQA), "INVALID_REQUEST");
        expectedMessage.put("vqa-without-question", "needs a question");
        add(TestRequests.uri("prompt-too-long", goodImage).setPrompt("describe ".repeat(400)), "PROMPT_TOO_LONG");
        add(TestRequests.uri("rank-no-candidates", goodImage).setTask(Task.RANK), "INVALID_REQUEST");
        add(TestRequests.uri("rank-too-many-candidates", goodImage).setTask(Task.RANK)
                .setCandidates(Collections.nCopies(300, "a thing")), "INVALID_REQUEST");
        add(TestRequests.uri("rank-blank-candidate", goodImage).setTask(Task.RANK).setCandidates(List.of("a cat", " ")),
                "INVALID_REQUEST");
        add(TestRequests.uri("temperature-negative", goodImage)
                .setGeneration(GenerationOverrides.newBuilder().setTemperature(-1f).build()), "INVALID_REQUEST");
        add(TestRequests.uri("top-p-over-one", goodImage)
                .setGeneration(GenerationOverrides.newBuilder().setTopP(1.5f).build()), "INVALID_REQUEST");
        add(TestRequests.uri("zero-beams", goodImage)
                .setGeneration(GenerationOverrides.newBuilder().setNumBeams(0).build()), "INVALID_REQUEST");
        add(TestRequests.uri("too-many-new-tokens", goodImage)
                .setGeneration(GenerationOverrides.newBuilder().setMaxNewTokens(100_000).build()), "UNSUPPORTED_OPTION");
    }

    private void run(Path root) throws Exception {
        RuntimeOptions runtime = new RuntimeOptions(RuntimeOptions.Device.CPU, 1, tmp.resolve("cache").toString());
        AnnotatorFactory factory = Models.open(
                Path.of(System.getProperty("loupe.fixtures"), "hf-reference", "instructblip-vicuna", "checkpoint"), runtime);

        org.apache.flink.configuration.Configuration conf = new org.apache.flink.configuration.Configuration();
        conf.set(org.apache.flink.configuration.PipelineOptions.GENERIC_TYPES, false);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        env.setParallelism(1);
        PipelineOptions options = PipelineOptions.builder()
                .fileRoots(List.of(root))
                .allowedHosts(List.of("127.0.0.1"))   // the test's HTTP server; nothing else internal
                .fetchConcurrency(8).fetchTimeout(Duration.ofSeconds(3)).fetchMaxBytes(MAX_BYTES)
                .batchMaxSize(4).batchMaxDelay(Duration.ofMillis(20))
                .build();
        AnnotationPipeline.Outputs outputs = AnnotationPipeline.fromAvro(env.fromData(values), factory, options);

        List<AnnotationResult> results = new ArrayList<>();
        List<AnnotationFailure> failures = new ArrayList<>();
        try (CloseableIterator<AnnotationResult> r = outputs.results().collectAsync();
                CloseableIterator<AnnotationFailure> f = outputs.failures().collectAsync()) {
            env.execute("bad-input-corpus");
            r.forEachRemaining(results::add);
            f.forEachRemaining(failures::add);
        }

        Map<String, String> outcomes = new HashMap<>();
        for (AnnotationResult result : results) {
            assertThat(outcomes.put(result.getId(), null)).as("one outcome for " + result.getId()).isNull();
            assertThat(outcomes).containsKey(result.getId());
            assertThat(result.getText()).as(result.getId()).isNotNull();
        }
        List<byte[]> rawUndecodable = new ArrayList<>();
        for (AnnotationFailure failure : failures) {
            assertThat(failure.getMessage()).as("message of " + failure.getId()).isNotBlank().doesNotContain(SECRET);
            if (failure.getId() == null) {
                assertThat(failure.getErrorCode()).isEqualTo("UNDECODABLE_RECORD");
                rawUndecodable.add(bytes(failure.getRawInput()));
                if (Arrays.equals(bytes(failure.getRawInput()), undecodable.get("unknown-task"))) {
                    assertThat(failure.getMessage()).contains("newer schema");
                }
                continue;
            }
            assertThat(outcomes.containsKey(failure.getId())).as("one outcome for " + failure.getId()).isFalse();
            outcomes.put(failure.getId(), failure.getErrorCode());
            String phrase = expectedMessage.get(failure.getId());
            if (phrase != null) {
                assertThat(failure.getMessage()).as(failure.getId()).contains(phrase);
            }
        }
        Map<String, String> messages = new java.util.TreeMap<>();
        failures.forEach(f -> messages.put(String.valueOf(f.getId()), f.getErrorCode() + ": " + f.getMessage()));
        messages.forEach((id, m) -> System.out.println("corpus " + id + " -> " + m));
        assertThat(outcomes).as("outcome by request id (null: annotated)").isEqualTo(expected);
        assertThat(rawUndecodable).as("undecodable records").usingElementComparator(Arrays::compare)
                .containsExactlyInAnyOrderElementsOf(undecodable.values());
        AnnotationResult rank = results.stream().filter(r -> r.getId().equals("good-rank")).findFirst().orElseThrow();
        assertThat(rank.getCandidates()).hasSize(2);
        assertThat(expected.size() + undecodable.size()).isGreaterThanOrEqualTo(40);
    }

    private void file(Path root, String id, byte[] content, String code) throws IOException {
        Path file = root.resolve(id + (id.contains("jpeg") ? ".jpg" : id.contains("gif") ? ".gif" : ".png"));
        Files.write(file, content);
        uri(id, file.toUri().toString(), code);
    }

    private void uri(String id, String uri, String code) {
        add(TestRequests.uri(id, uri), code);
    }

    private void add(AnnotationRequest.Builder request, String code) {
        if (request.getGeneration() == null) {
            request.setGeneration(GenerationOverrides.newBuilder().setMaxNewTokens(3).build());
        }
        values.add(TestRequests.encode(request));
        expected.put(request.getId(), code);
    }

    /** A request written by a producer whose schema knows a task this reader does not ("DETECT"). */
    private static byte[] withUnknownTask(String id, String uri) throws IOException {
        String json = AnnotationRequest.getClassSchema().toString()
                .replace("\"symbols\":[\"CAPTION\",\"VQA\",\"RANK\"]", "\"symbols\":[\"CAPTION\",\"VQA\",\"RANK\",\"DETECT\"]");
        Schema writer = new Schema.Parser().parse(json);
        assertThat(writer.getField("task").schema().getEnumSymbols()).contains("DETECT");
        GenericRecord image = new GenericRecordBuilder(writer.getField("image").schema()).set("uri", uri).build();
        GenericRecord record = new GenericRecordBuilder(writer)
                .set("id", id).set("image", image)
                .set("task", new GenericData.EnumSymbol(writer.getField("task").schema(), "DETECT"))
                .build();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(out, null);
        new GenericDatumWriter<GenericRecord>(writer).write(record, encoder);
        encoder.flush();
        return out.toByteArray();
    }

    private static byte[] bytes(ByteBuffer buffer) {
        ByteBuffer b = buffer.duplicate();
        byte[] out = new byte[b.remaining()];
        b.get(out);
        return out;
    }

    private static void respond(HttpExchange ex, int status, String location, byte[] body) throws IOException {
        if (location != null) {
            ex.getResponseHeaders().add("Location", location);
        }
        ex.sendResponseHeaders(status, body == null ? -1 : body.length);
        if (body != null) {
            try (OutputStream out = ex.getResponseBody()) {
                out.write(body);
            } catch (IOException e) {
                // the fetcher stopped reading at its limit
            }
        }
        ex.close();
    }
}
