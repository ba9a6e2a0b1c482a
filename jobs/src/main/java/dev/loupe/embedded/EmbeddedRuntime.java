package dev.loupe.embedded;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * Everything {@code loupe run} needs on one machine with nothing installed: an {@link EmbeddedKafka} broker
 * with the job's topics, and a local Flink MiniCluster (started by {@link #environment}) whose web UI listens on
 * a free loopback port. {@link #close()} cancels the job, which stops the MiniCluster, then stops the broker.
 */
public final class EmbeddedRuntime implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Pekko's key for the tick of its scheduler threads (its default: 10 ms). */
    static final String RPC_TICK_KEY = "pekko.scheduler.tick-duration";
    /** The tick the embedded MiniCluster's actor systems get unless {@link #RPC_TICK_KEY} is set as a system property. */
    static final String RPC_TICK = "100ms";

    private final EmbeddedKafka kafka;
    private final int webPort;
    private volatile JobClient job;

    private EmbeddedRuntime(EmbeddedKafka kafka, int webPort) {
        this.kafka = kafka;
        this.webPort = webPort;
    }

    /** Starts the broker and creates {@code topics} (one partition each). */
    public static EmbeddedRuntime start(Collection<String> topics) {
        return start(1, topics);
    }

    /** Starts the broker and creates {@code topics} with {@code partitions} partitions each (one per source subtask). */
    public static EmbeddedRuntime start(int partitions, Collection<String> topics) {
        return start(new EmbeddedKafka(), partitions, topics);
    }

    /**
     * Starts {@code broker} (not started yet: e.g. {@link EmbeddedKafka#inOwnProcess} for a broker in a process of
     * its own) and creates {@code topics} with {@code partitions} partitions each.
     */
    public static EmbeddedRuntime start(EmbeddedKafka broker, int partitions, Collection<String> topics) {
        EmbeddedKafka kafka = broker.start();
        try {
            kafka.createTopics(partitions, List.copyOf(topics));
            return new EmbeddedRuntime(kafka, FreePorts.find());
        } catch (RuntimeException e) {
            kafka.close();
            throw e;
        }
    }

    public String bootstrapServers() {
        return kafka.bootstrapServers();
    }

    public EmbeddedKafka kafka() {
        return kafka;
    }

    /** The port of the Flink web UI and REST API once a job runs. */
    public int webPort() {
        return webPort;
    }

    public String webUrl() {
        return "http://127.0.0.1:" + webPort;
    }

    /**
     * A local environment: the job submitted through it runs in a MiniCluster in this JVM, with the web UI on
     * {@link #webPort()}; {@code jobConfig} carries checkpointing, restarts and parallelism.
     */
    public StreamExecutionEnvironment environment(Configuration jobConfig) {
        coarserRpcTimerTick();
        Configuration conf = new Configuration(jobConfig);
        conf.set(RestOptions.BIND_ADDRESS, "127.0.0.1");
        conf.set(RestOptions.ADDRESS, "127.0.0.1");
        conf.set(RestOptions.PORT, webPort);
        conf.set(RestOptions.BIND_PORT, String.valueOf(webPort));
        return StreamExecutionEnvironment.createLocalEnvironmentWithWebUI(conf);
    }

    /**
     * Makes the timer threads of the MiniCluster's two Pekko actor systems (Flink's RPC and its metric query service:
     * {@code flink-scheduler}, {@code flink-metrics-scheduler}) tick every 100 ms instead of Pekko's 10 ms, unless
     * the JVM was given {@code -Dpekko.scheduler.tick-duration}. They woke 100 times a second each whether or not
     * anything was due and took 8-13 ms of CPU a second between them on the 2-core soak host; at 100 ms, 2-3 ms. The
     * tick only rounds up delayed RPC work (heartbeats every 10 s, ask timeouts of seconds, delayed retries): messages
     * are delivered without it, and checkpoints are triggered by their own timer thread. Flink passes no key of
     * Pekko's scheduler through its configuration, so the setting is Pekko's own, read from the system properties
     * when the actor systems start (the first job submitted in this JVM); set here before that, for this process.
     */
    static void coarserRpcTimerTick() {
        if (System.getProperty(RPC_TICK_KEY) == null) {
            System.setProperty(RPC_TICK_KEY, RPC_TICK);
        }
    }

    /** Submits the job built on {@code env} and remembers it, so {@link #close()} can cancel it. */
    public JobClient submit(StreamExecutionEnvironment env, String jobName) throws Exception {
        job = env.executeAsync(jobName);
        return job;
    }

    /**
     * Waits until every task of {@code job} runs, i.e. has opened its operators (the model is loaded), as the web
     * UI's REST API reports it; false if that takes longer than {@code timeout} or the job ends first.
     */
    public boolean awaitTasksRunning(JobClient job, Duration timeout) throws InterruptedException {
        HttpClient http = HttpClient.newHttpClient();
        HttpRequest request = HttpRequest.newBuilder(URI.create(webUrl() + "/jobs/" + job.getJobID()))
                .timeout(Duration.ofSeconds(5)).build();
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            try {
                HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
                if (response.statusCode() == 200) {
                    JsonNode o = JSON.readTree(response.body());
                    String state = o.path("state").asText();
                    if (state.equals("FAILED") || state.equals("CANCELED") || state.equals("FINISHED")) {
                        return false;
                    }
                    JsonNode vertices = o.path("vertices");
                    boolean all = vertices.size() > 0;
                    for (JsonNode v : vertices) {
                        all &= v.path("status").asText().equals("RUNNING");
                    }
                    if (all) {
                        return true;
                    }
                }
            } catch (IOException e) {
                // the REST endpoint is not up yet
            }
            Thread.sleep(100);
        }
        return false;
    }

    /** Human-readable addresses, one per line. */
    public String describe(Collection<String> topics) {
        return "Kafka bootstrap servers: " + bootstrapServers() + System.lineSeparator()
                + "Topics: " + String.join(", ", topics) + System.lineSeparator()
                + "Flink web UI: " + webUrl();
    }

    /** Cancels the running job (stopping the MiniCluster), then stops the broker and deletes its data. */
    @Override
    public synchronized void close() { // synchronized: a JVM exit's stop (StopOnExit) and the owner's may meet
        JobClient running = job;
        job = null;
        if (running != null) {
            JobStop.cancelAndAwait(running);
        }
        kafka.close();
    }
}
