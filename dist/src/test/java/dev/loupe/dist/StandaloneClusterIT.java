package dev.loupe.dist;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.jobs.DemoModel;
import dev.loupe.model.Models;
import dev.loupe.schemas.AnnotationFailure;
import dev.loupe.schemas.AnnotationRequest;
import dev.loupe.schemas.AnnotationResult;
import dev.loupe.schemas.ImageSource;
import dev.loupe.schemas.Task;
import dev.loupe.schemas.serde.AvroDeserializer;
import dev.loupe.schemas.serde.AvroSerializer;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The release path end to end: {@code deploy/standalone/local-cluster.sh} starts a JobManager, a TaskManager and a
 * Kafka broker as separate processes, submits the shaded job jar ({@code target/loupe-job.jar}) with Flink's own
 * client and a tiny model the project generates ({@link DemoModel}, converted to a package), and tears it all down;
 * this test feeds the job a few requests and reads the results and dead letters back, read_committed. A start-up
 * that fails half-way must leave no process behind.
 */
@Tag("slow")
class StandaloneClusterIT {
    private static final Path ROOT = Path.of(System.getProperty("loupe.root", "..")).toAbsolutePath().normalize();
    private static final Path SCRIPT = ROOT.resolve("deploy/standalone/local-cluster.sh");
    private static final Path IMAGES = ROOT.resolve("fixtures/hf-reference/images");
    private static final Path CLUSTER_DIR = Path.of("target/standalone-it").toAbsolutePath();

    @TempDir
    Path tmp;

    @Test
    @Timeout(value = 15, unit = TimeUnit.MINUTES)
    void jobJarOnAStandaloneClusterAnnotatesRequestsAndDeadLettersTheBadOne() throws Exception {
        Path model = tmp.resolve("model");
        Models.convert(DemoModel.ensure(tmp.resolve("cache")), model);
        Map<String, String> env = new HashMap<>();
        try {
            env.putAll(parseEnv(script("up")));
            String kafka = env.get("KAFKA");
            assertThat(kafka).as("the broker address `up` prints").isNotBlank();
            createTopics(kafka, "it.requests", "it.results", "it.dead-letters");

            String submitted = script("submit", "--model", model.toString(), "--allowed-root", IMAGES.toString(),
                    "--requests-topic", "it.requests", "--results-topic", "it.results",
                    "--dead-letter-topic", "it.dead-letters", "--group-id", "it", "--transactional-id-prefix", "it",
                    "--checkpoint-interval", "1s", "--batch-delay", "20ms", "--parallelism", "1");
            assertThat(submitted).containsPattern("JOB_ID=[0-9a-f]{32}");
            String jobUrl = env.get("REST") + "/jobs/" + parseEnv(submitted).get("JOB_ID");

            send(kafka, "it.requests", List.of(
                    request("inline-1", ImageSource.newBuilder()
                            .setBytes(ByteBuffer.wrap(Files.readAllBytes(IMAGES.resolve("img_64x64.png")))).build()),
                    request("file-1", ImageSource.newBuilder()
                            .setUri(IMAGES.resolve("img_40x30.png").toUri().toString()).build()),
                    // outside --allowed-root: refused, a dead letter
                    request("outside-1", ImageSource.newBuilder()
                            .setUri(ROOT.resolve("pom.xml").toUri().toString()).build())));

            Map<String, List<byte[]>> read = readCommitted(kafka, Map.of("it.results", 2, "it.dead-letters", 1), jobUrl);
            var results = read.get("it.results").stream()
                    .map(new AvroDeserializer<>(AnnotationResult.class)::deserialize).toList();
            var failures = read.get("it.dead-letters").stream()
                    .map(new AvroDeserializer<>(AnnotationFailure.class)::deserialize).toList();
            assertThat(results).extracting(r -> r.getId().toString()).containsExactlyInAnyOrder("inline-1", "file-1");
            assertThat(results).allSatisfy(r -> assertThat(r.getTokenIds()).isNotEmpty());
            assertThat(failures).extracting(f -> String.valueOf(f.getId())).containsExactly("outside-1");
            assertThat(failures.get(0).getErrorCode().toString()).isEqualTo("PATH_NOT_ALLOWED");

            // the Prometheus reporter the manifests configure serves the cluster's metrics
            assertThat(scrapePrometheus(env.get("PROMETHEUS_PORTS"))).contains("flink_taskmanager_");
        } finally {
            List<Long> pids = startedPids();
            script("down");
            assertThat(pids).as("processes `up` started").isNotEmpty();
            for (long pid : pids) {
                assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false))
                        .as("process %d still alive after down", pid).isFalse();
            }
        }
    }

    @Test
    @Timeout(value = 8, unit = TimeUnit.MINUTES)
    void aStartUpThatFailsHalfWayStopsWhatItHadStarted() throws Exception {
        // the broker's jars are real, Flink's are missing: Kafka starts, then the Flink side fails
        Path libs = tmp.resolve("libs");
        Files.createDirectories(libs.resolve("flink-lib"));
        Files.createDirectories(libs.resolve("plugins"));
        Files.createSymbolicLink(libs.resolve("kafka-lib"),
                Path.of(System.getProperty("loupe.clusterLibs", "target/cluster")).toAbsolutePath().resolve("kafka-lib"));

        Run up = run(Map.of("LOUPE_CLUSTER_LIBS", libs.toString(),
                "LOUPE_CLUSTER_DIR", CLUSTER_DIR.resolveSibling("standalone-it-failing").toString()), "up");

        assertThat(up.exitCode()).as(up.output()).isNotZero();
        assertThat(up.output()).contains("start-up failed");
        List<Long> started = java.util.regex.Pattern.compile("started \\(pid (\\d+)").matcher(up.output()).results()
                .map(m -> Long.parseLong(m.group(1))).toList();
        assertThat(started).as("the broker was started").isNotEmpty();
        for (long pid : started) {
            assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false))
                    .as("process %d still alive after the failed start-up", pid).isFalse();
        }
    }

    private static AnnotationRequest request(String id, ImageSource image) {
        return AnnotationRequest.newBuilder().setId(id).setTask(Task.CAPTION).setImage(image).build();
    }

    /** Runs the script with a sub-command and fails unless it succeeds; returns its output. */
    private static String script(String... args) throws IOException, InterruptedException {
        Run run = run(Map.of(), args);
        if (run.exitCode() != 0) {
            throw new AssertionError(String.join(" ", args) + " failed (exit " + run.exitCode() + "):\n" + run.output());
        }
        return run.output();
    }

    private record Run(int exitCode, String output) {}

    /**
     * Runs the script with a sub-command and extra environment; its output goes to
     * target/&lt;cluster dir name&gt;-&lt;command&gt;.out.
     */
    private static Run run(Map<String, String> extraEnv, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("bash", SCRIPT.toString()));
        command.addAll(List.of(args));
        Path clusterDir = Path.of(extraEnv.getOrDefault("LOUPE_CLUSTER_DIR", CLUSTER_DIR.toString()));
        Path out = clusterDir.resolveSibling(clusterDir.getFileName() + "-" + args[0] + ".out");
        Files.createDirectories(out.getParent());
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(out.toFile());
        builder.environment().put("LOUPE_CLUSTER_DIR", clusterDir.toString());
        builder.environment().put("LOUPE_THREADS", "1"); // ONNX Runtime sessions of the job: one thread each
        builder.environment().put("LOUPE_JOB_JAR", System.getProperty("loupe.jobJar", "target/loupe-job.jar"));
        builder.environment().put("LOUPE_CLUSTER_LIBS", System.getProperty("loupe.clusterLibs", "target/cluster"));
        builder.environment().putAll(extraEnv);
        Process process = builder.start();
        if (!process.waitFor(10, TimeUnit.MINUTES)) {
            process.destroyForcibly();
            throw new AssertionError(String.join(" ", args) + " did not finish; see " + out);
        }
        return new Run(process.exitValue(), Files.readString(out));
    }

    private static Map<String, String> parseEnv(String output) {
        Map<String, String> env = new HashMap<>();
        output.lines().filter(l -> l.matches("[A-Z_]+=.*"))
                .forEach(l -> env.put(l.substring(0, l.indexOf('=')), l.substring(l.indexOf('=') + 1)));
        return env;
    }

    private static List<Long> startedPids() throws IOException {
        Path pids = CLUSTER_DIR.resolve("pids");
        if (!Files.exists(pids)) {
            return List.of();
        }
        return Files.readAllLines(pids).stream().filter(l -> !l.isBlank())
                .map(l -> Long.parseLong(l.trim().split("\\s+")[1])).toList();
    }

    private static void createTopics(String kafka, String... names) throws Exception {
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", kafka))) {
            admin.createTopics(java.util.Arrays.stream(names).map(n -> new NewTopic(n, 1, (short) 1)).toList())
                    .all().get(60, TimeUnit.SECONDS);
        }
    }

    private static void send(String kafka, String topic, List<AnnotationRequest> requests) throws Exception {
        Properties p = new Properties();
        p.put("bootstrap.servers", kafka);
        AvroSerializer<AnnotationRequest> serializer = new AvroSerializer<>(AnnotationRequest.class);
        try (KafkaProducer<byte[], byte[]> producer =
                new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
            for (AnnotationRequest r : requests) {
                producer.send(new ProducerRecord<>(topic, serializer.serialize(r))).get(60, TimeUnit.SECONDS);
            }
        }
    }

    /**
     * Committed values of each topic until it holds at least the expected count (the test's timeout bounds it);
     * fails at once when the job has failed.
     */
    private static Map<String, List<byte[]>> readCommitted(String kafka, Map<String, Integer> expected, String jobUrl)
            throws Exception {
        Properties p = new Properties();
        p.put("bootstrap.servers", kafka);
        p.put("group.id", "it-reader");
        p.put("auto.offset.reset", "earliest");
        p.put("isolation.level", "read_committed");
        Map<String, List<byte[]>> read = new HashMap<>();
        expected.keySet().forEach(t -> read.put(t, new ArrayList<>()));
        try (KafkaConsumer<byte[], byte[]> consumer =
                new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            consumer.subscribe(expected.keySet());
            while (expected.entrySet().stream().anyMatch(e -> read.get(e.getKey()).size() < e.getValue())) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofSeconds(1))) {
                    read.get(r.topic()).add(r.value());
                }
                assertJobNotFailed(jobUrl);
            }
            // one more checkpoint's worth of polling: nothing beyond the expected records may follow
            for (int i = 0; i < 3; i++) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofSeconds(1))) {
                    read.get(r.topic()).add(r.value());
                }
            }
        }
        return read;
    }

    private static void assertJobNotFailed(String jobUrl) throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        String job = http.send(HttpRequest.newBuilder(URI.create(jobUrl)).timeout(Duration.ofSeconds(30)).build(),
                HttpResponse.BodyHandlers.ofString()).body();
        if (job.matches("(?s).*\"state\"\\s*:\\s*\"(FAILED|FAILING|CANCELED)\".*")) {
            String exceptions = http.send(HttpRequest.newBuilder(URI.create(jobUrl + "/exceptions")).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
            throw new AssertionError("the job failed: " + exceptions);
        }
    }

    /** The body of the first port in the reporter's range that answers (JobManager or TaskManager). */
    private static String scrapePrometheus(String portRange) throws Exception {
        String[] bounds = portRange.split("-");
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        StringBuilder all = new StringBuilder();
        for (int port = Integer.parseInt(bounds[0]); port <= Integer.parseInt(bounds[1]); port++) {
            try {
                all.append(http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics"))
                        .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString()).body());
            } catch (IOException nobodyThere) {
                // ports of the range not taken by a process
            }
        }
        return all.toString();
    }
}
