package dev.loupe.embedded;

import dev.loupe.model.files.FileTrees;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import kafka.tools.StorageTool;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.utils.Time;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A single-node Kafka broker (KRaft, combined broker and controller, no ZooKeeper) running in this JVM on free
 * loopback ports, with its log in a temporary folder deleted on {@link #close()}. Internal topics use
 * replication factor 1, so transactions (exactly-once sinks, {@code read_committed} readers) work with one node.
 * For local runs and tests; not a production broker.
 *
 * <p>By default the broker runs in this JVM ({@link Placement#IN_PROCESS}). {@link #inOwnProcess} runs the same
 * broker in a JVM of its own ({@link BrokerMain}), optionally at a higher nice value: a measuring harness (the soak)
 * then keeps the broker's threads, JIT compilation and garbage out of the process it measures, as a production
 * job's broker runs elsewhere.
 */
public final class EmbeddedKafka implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedKafka.class);
    private static final int NODE_ID = 1;
    private static final String CONTROLLER_LISTENER = "CONTROLLER";

    private static final String SASL_LISTENER = "SASL_PLAINTEXT";
    /** How long a broker in its own process may take to accept clients. */
    private static final Duration PROCESS_START_TIMEOUT = Duration.ofMinutes(3);

    /** Where the broker runs: in this JVM, or in a JVM of its own started and stopped with it. */
    public enum Placement { IN_PROCESS, PROCESS }

    /**
     * The broker JVM's options when it runs in its own process and none are given: a small heap with the serial
     * collector, and only the quick (C1) compiler, so the broker's JIT work stays small; a test broker's code does
     * not need C2's speed.
     */
    public static final List<String> DEFAULT_PROCESS_JVM_OPTIONS =
            List.of("-XX:+UseSerialGC", "-Xms32m", "-Xmx512m", "-XX:TieredStopAtLevel=1", "-Xss512k");

    private final Map<String, String> overrides;
    /** User and password of the SASL/PLAIN client listener, or null for a PLAINTEXT listener. */
    private final String saslUser;
    private final String saslPassword;
    private final Placement placement;
    /** The nice value of a broker in its own process (0: the same priority as this process). */
    private final int processNiceness;
    private final List<String> processJvmOptions;
    private Path workDir;
    private Path logDir;
    private KafkaRaftServer server;
    /** The broker's process when {@link Placement#PROCESS}, while it runs. */
    private Process process;
    /** The broker's properties, kept so {@link #restart()} brings the same broker back. */
    private Properties properties;
    private int brokerPort;
    private int controllerPort;

    /** A broker with the default settings. */
    public EmbeddedKafka() {
        this(Map.of());
    }

    /** A broker with extra broker properties (they win over the defaults). */
    public EmbeddedKafka(Map<String, String> brokerOverrides) {
        this(brokerOverrides, null, null);
    }

    private EmbeddedKafka(Map<String, String> brokerOverrides, String saslUser, String saslPassword) {
        this(brokerOverrides, saslUser, saslPassword, Placement.IN_PROCESS, 0, List.of());
    }

    private EmbeddedKafka(Map<String, String> brokerOverrides, String saslUser, String saslPassword,
            Placement placement, int processNiceness, List<String> processJvmOptions) {
        this.overrides = Map.copyOf(brokerOverrides);
        this.saslUser = saslUser;
        this.saslPassword = saslPassword;
        this.placement = placement;
        this.processNiceness = processNiceness;
        this.processJvmOptions = List.copyOf(processJvmOptions);
    }

    /**
     * A broker (default settings) in a JVM of its own, started with {@code jvmOptions} at nice value {@code niceness}
     * (0..19; 0 keeps this process's priority) and stopped by {@link #close()}, or when this JVM ends: the broker
     * stops when its standard input, a pipe from this JVM, closes.
     */
    public static EmbeddedKafka inOwnProcess(int niceness, List<String> jvmOptions) {
        if (niceness < 0 || niceness > 19) {
            throw new IllegalArgumentException("the broker's nice value must be in 0..19, got " + niceness);
        }
        return new EmbeddedKafka(Map.of(), null, null, Placement.PROCESS, niceness, jvmOptions);
    }

    /** Where this broker runs. */
    public Placement placement() {
        return placement;
    }

    /** The broker's process id when it runs in a process of its own, else empty. */
    public synchronized OptionalLong pid() {
        return process == null ? OptionalLong.empty() : OptionalLong.of(process.pid());
    }

    /**
     * A broker whose client listener is SASL_PLAINTEXT with the PLAIN mechanism and one user, to try clients'
     * security settings against ({@link #clientProperties()} gives the matching ones). The controller listener
     * stays PLAINTEXT on loopback.
     */
    public static EmbeddedKafka withSaslPlain(String user, String password) {
        if (user == null || user.isBlank() || password == null || password.isEmpty()
                || (user + password).matches(".*[\"\\\\].*")) {
            throw new IllegalArgumentException("a SASL/PLAIN user and password are required (no quotes or backslashes)");
        }
        return new EmbeddedKafka(Map.of(), user, password);
    }

    /**
     * Client properties this broker needs besides {@code bootstrap.servers}: empty for PLAINTEXT, the SASL/PLAIN
     * login of the broker's user otherwise.
     */
    public Map<String, String> clientProperties() {
        if (saslUser == null) {
            return Map.of();
        }
        return Map.of("security.protocol", "SASL_PLAINTEXT", "sasl.mechanism", "PLAIN",
                "sasl.jaas.config", plainLogin(""));
    }

    private String plainLogin(String extra) {
        return "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"" + saslUser
                + "\" password=\"" + saslPassword + "\"" + extra + ";";
    }

    /** Formats a fresh metadata log and starts the broker; returns when it accepts clients. */
    public synchronized EmbeddedKafka start() {
        if (workDir != null) {
            throw new IllegalStateException("already started");
        }
        try {
            workDir = Files.createTempDirectory("loupe-kafka-");
            logDir = Files.createDirectory(workDir.resolve("log"));
            brokerPort = FreePorts.find();
            controllerPort = FreePorts.find();
            while (controllerPort == brokerPort) {
                controllerPort = FreePorts.find();
            }
            properties = brokerProperties();
            format(properties);
            launch();
            LOG.info("Embedded Kafka broker listening on {}", bootstrapServers());
            return this;
        } catch (Exception e) {
            close();
            throw new IllegalStateException("the embedded Kafka broker did not start: " + e.getMessage(), e);
        }
    }

    private void launch() throws InterruptedException, ExecutionException, IOException {
        if (placement == Placement.PROCESS) {
            launchProcess();
            return;
        }
        server = new KafkaRaftServer(KafkaConfig.fromProps(properties), Time.SYSTEM);
        server.startup();
        awaitReady();
    }

    /** Starts {@link BrokerMain} on the formatted log in a JVM of its own, with this JVM's class path. */
    private void launchProcess() throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        if (processNiceness > 0) {
            command.addAll(List.of("nice", "-n", String.valueOf(processNiceness)));
        }
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(processJvmOptions);
        command.addAll(List.of(BrokerMain.class.getName(), workDir.resolve("server.properties").toString()));
        ProcessBuilder builder = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(workDir.resolve("broker.log").toFile()));
        // the class path through the environment: the launcher's is long, and a command line that long is fragile
        builder.environment().put("CLASSPATH", System.getProperty("java.class.path"));
        process = builder.start();
        long deadline = System.nanoTime() + PROCESS_START_TIMEOUT.toNanos();
        try {
            // wait for the client listener first (a plain connect), so the admin client does not log refusals
            while (!listening(brokerPort)) {
                if (!process.isAlive()) {
                    throw new IOException("the broker's process exited with status " + process.exitValue() + ": "
                            + brokerLogTail());
                }
                if (System.nanoTime() > deadline) {
                    throw new IOException("the broker's process did not listen within "
                            + PROCESS_START_TIMEOUT.toSeconds() + " s: " + brokerLogTail());
                }
                Thread.sleep(100);
            }
            awaitReady();
        } catch (ExecutionException e) {
            stopProcess();
            throw new IOException("the broker's process did not accept clients: " + brokerLogTail(), e);
        } catch (IOException | InterruptedException | RuntimeException e) {
            stopProcess();
            throw e;
        }
    }

    private static boolean listening(int port) {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 200);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private String brokerLogTail() {
        try {
            List<String> lines = Files.readAllLines(workDir.resolve("broker.log"));
            return String.join(System.lineSeparator(), lines.subList(Math.max(0, lines.size() - 20), lines.size()));
        } catch (IOException e) {
            return "(no broker log: " + e.getMessage() + ")";
        }
    }

    /** Closes the broker's standard input (it shuts down cleanly), waits for it, and kills it if it lingers. */
    private void stopProcess() {
        Process p = process;
        process = null;
        if (p == null) {
            return;
        }
        try {
            p.getOutputStream().close();
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                LOG.warn("the embedded Kafka broker's process did not stop within 60 s; killing it");
                p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        } catch (IOException e) {
            p.destroyForcibly();
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Stops the broker as a crash-free shutdown would, keeping its ports and log folder so that {@link #restart()}
     * brings the same broker back (topics, committed offsets and transaction state included). Clients see the
     * broker go away; {@link #bootstrapServers()} keeps answering. For failure tests.
     */
    public synchronized void stop() {
        if (!isRunning()) {
            throw new IllegalStateException(workDir == null ? "not started" : "already stopped");
        }
        shutdownServer();
        LOG.info("Embedded Kafka broker on {} stopped (log kept for a restart)", bootstrapServers());
    }

    /** Starts a {@link #stop() stopped} broker again on the same ports and log folder; returns when it accepts clients. */
    public synchronized EmbeddedKafka restart() {
        if (workDir == null) {
            throw new IllegalStateException("not started");
        }
        if (isRunning()) {
            throw new IllegalStateException("still running: stop() it first");
        }
        try {
            launch();
        } catch (Exception e) {
            server = null;
            process = null;
            throw new IllegalStateException("the embedded Kafka broker did not restart on " + bootstrapServers() + ": "
                    + e.getMessage(), e);
        }
        LOG.info("Embedded Kafka broker restarted on {}", bootstrapServers());
        return this;
    }

    /** Whether the broker runs now (started and not stopped). */
    public synchronized boolean isRunning() {
        return server != null || process != null;
    }

    private void shutdownServer() {
        if (process != null) {
            stopProcess();
            return;
        }
        try {
            server.shutdown();
            server.awaitShutdown();
        } catch (RuntimeException e) {
            LOG.warn("embedded Kafka broker did not shut down cleanly", e);
        }
        server = null;
    }

    private Properties brokerProperties() {
        Properties p = new Properties();
        p.put("process.roles", "broker,controller");
        p.put("node.id", String.valueOf(NODE_ID));
        p.put("controller.quorum.voters", NODE_ID + "@127.0.0.1:" + controllerPort);
        String listener = saslUser == null ? "PLAINTEXT" : SASL_LISTENER;
        p.put("listeners", listener + "://127.0.0.1:" + brokerPort + "," + CONTROLLER_LISTENER + "://127.0.0.1:" + controllerPort);
        p.put("advertised.listeners", listener + "://127.0.0.1:" + brokerPort);
        p.put("controller.listener.names", CONTROLLER_LISTENER);
        p.put("inter.broker.listener.name", listener);
        p.put("listener.security.protocol.map", listener + ":" + listener + "," + CONTROLLER_LISTENER + ":PLAINTEXT");
        if (saslUser != null) {
            // the broker authenticates clients (and itself, inter-broker) against its one PLAIN user
            p.put("sasl.enabled.mechanisms", "PLAIN");
            p.put("sasl.mechanism.inter.broker.protocol", "PLAIN");
            p.put("listener.name." + SASL_LISTENER.toLowerCase(java.util.Locale.ROOT) + ".plain.sasl.jaas.config",
                    plainLogin(" user_" + saslUser + "=\"" + saslPassword + "\""));
        }
        p.put("log.dirs", logDir.toString());
        p.put("num.partitions", "1");
        p.put("default.replication.factor", "1");
        p.put("offsets.topic.replication.factor", "1");
        p.put("offsets.topic.num.partitions", "1");
        p.put("transaction.state.log.replication.factor", "1");
        p.put("transaction.state.log.min.isr", "1");
        p.put("transaction.state.log.num.partitions", "1");
        p.put("share.coordinator.state.topic.replication.factor", "1");
        p.put("share.coordinator.state.topic.min.isr", "1");
        p.put("group.initial.rebalance.delay.ms", "0");
        p.put("auto.create.topics.enable", "false");
        p.put("num.network.threads", "2");
        p.put("num.io.threads", "2");
        p.put("background.threads", "2");
        p.put("log.cleaner.enable", "false");
        // the KRaft controller appends and fsyncs a no-op metadata record every 500 ms by default (KIP-835), so that
        // brokers elsewhere can tell a stalled metadata log; with broker and controller in one process it was 2-3 ms of
        // CPU a second on the cores the job computes on (docs/benchmarks.md, the soak's broker)
        p.put("metadata.max.idle.interval.ms", "5000");
        p.putAll(overrides);
        return p;
    }

    /** Writes the metadata log's meta.properties and bootstrap checkpoint, as {@code kafka-storage.sh format} does. */
    private void format(Properties props) throws IOException {
        Path file = workDir.resolve("server.properties");
        try (var out = Files.newOutputStream(file)) {
            props.store(out, "embedded Kafka broker");
        }
        var log = new java.io.ByteArrayOutputStream();
        int status = StorageTool.execute(new String[] {
                "format", "--config", file.toString(), "--cluster-id", Uuid.randomUuid().toString()},
                new java.io.PrintStream(log, true, java.nio.charset.StandardCharsets.UTF_8));
        if (status != 0) {
            throw new IOException("formatting the metadata log failed: " + log);
        }
    }

    private void awaitReady() throws InterruptedException, ExecutionException {
        try (Admin admin = admin()) {
            admin.describeCluster().nodes().get();
        }
    }

    /** {@code 127.0.0.1:port} of the broker's client listener (the same across {@link #stop()} and {@link #restart()}). */
    public String bootstrapServers() {
        if (workDir == null) {
            throw new IllegalStateException("not started");
        }
        return "127.0.0.1:" + brokerPort;
    }

    /** The client listener's port (for checking it is freed after close). */
    public int brokerPort() {
        return brokerPort;
    }

    /** The folder holding the broker's configuration and log (deleted by {@link #close()}). */
    public Path dataDir() {
        return workDir;
    }

    /** The controller listener's port. */
    public int controllerPort() {
        return controllerPort;
    }

    /** An admin client for this broker; the caller closes it. */
    public Admin admin() {
        Properties p = new Properties();
        p.putAll(clientProperties());
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "60000");
        return Admin.create(p);
    }

    /** Creates each topic with one partition, unless it already exists. */
    public void createTopics(String... names) {
        createTopics(1, List.of(names));
    }

    /** Creates each topic with the given number of partitions (replication factor 1), unless it already exists. */
    public void createTopics(int partitions, Collection<String> names) {
        List<NewTopic> topics = new ArrayList<>();
        for (String name : Set.copyOf(names)) {
            topics.add(new NewTopic(name, partitions, (short) 1));
        }
        try (Admin admin = admin()) {
            for (var entry : admin.createTopics(topics).values().entrySet()) {
                try {
                    entry.getValue().get();
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof TopicExistsException)) {
                        throw new IllegalStateException("could not create topic " + entry.getKey() + ": "
                                + e.getCause().getMessage(), e.getCause());
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while creating topics", e);
        }
    }

    /** Stops the broker, waits for it to release its ports, and deletes its log folder. Idempotent. */
    @Override
    public synchronized void close() {
        if (isRunning()) {
            shutdownServer();
        }
        if (workDir != null) {
            deleteRecursively(workDir);
            workDir = null;
            logDir = null;
        }
    }

    private static void deleteRecursively(Path dir) {
        try {
            FileTrees.deleteRecursively(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("could not delete " + dir, e);
        }
    }
}
