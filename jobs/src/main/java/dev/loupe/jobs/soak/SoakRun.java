package dev.loupe.jobs.soak;

import dev.loupe.jobs.streaming.AcknowledgedSends;
import dev.loupe.jobs.streaming.JobSettings;
import dev.loupe.schemas.AnnotationFailure;
import dev.loupe.schemas.AnnotationResult;
import dev.loupe.schemas.serde.AvroDeserializer;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.function.IntConsumer;
import java.util.function.IntFunction;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * One soak run against a running streaming job: writes the {@link SoakInputs} to the requests topic, reads the
 * results and dead-letter topics as a {@code read_committed} reader until every request is accounted for (or the
 * time limit passes, or the job stops), waits a little longer to catch duplicates, and reports the counts, the
 * throughput, the latency from each request's write to its committed result (percentiles per requested length) and
 * the heap at every tenth of the run. The heap figures are this JVM's, so they cover the job too when it runs
 * in-process (the embedded runtime). Two of them force full collections, which stop every Java thread of the job:
 * the warm-up figure (the first tenth) and the end figure, taken once every request is accounted for, after the
 * throughput's clock stopped; the tenths between read the heap after the latest collection the JVM ran by itself,
 * so that the measurement does not stop the pipeline it measures eight more times.
 */
public final class SoakRun {

    /**
     * A heap figure once {@code accounted} requests had an outcome: used bytes after a full GC it forced
     * ({@code forced}), else after the JVM's latest collection.
     */
    public record HeapSample(int percent, int accounted, long usedBytes, boolean forced) {}

    /**
     * @param seconds from the first request written (writing included) to the last one accounted for
     * @param steadyResultsPerSecond results per second once the pipeline was full ({@link SoakLatencies#steadyPerSecond}),
     *                               NaN for runs too short to tell
     * @param heapFlat whether the heap at the end stays within {@link #flatTolerance(long)} of the warm-up figure
     */
    public record Report(SoakTally.Counts counts, double seconds, double requestsPerSecond,
            double steadyResultsPerSecond, List<HeapSample> heap,
            boolean heapFlat, boolean timedOut, boolean jobStopped, ResultTimings.Summary timings,
            Map<String, SoakLatencies.Percentiles> latencyByLength,
            Map<String, SoakLatencies.Percentiles> servedByLength,
            Map<String, SoakLatencies.Percentiles> commitWaitByLength) {

        /** Nothing lost, duplicated or misrouted. */
        public boolean ok() {
            return counts.exact() && !timedOut && !jobStopped;
        }

        /**
         * The warm-up figure: after the warm-up requests (percent 0) when the run had them, else after the first
         * tenth of the run; null before it.
         */
        public HeapSample warmup() {
            return heap.isEmpty() ? null : heap.get(0);
        }

        public HeapSample end() {
            return heap.isEmpty() ? null : heap.get(heap.size() - 1);
        }
    }

    private final JobSettings settings;
    private final SoakInputs inputs;
    private final Duration timeout;
    private final Consumer<String> progress;
    private final double requestsPerSecond;
    private final int warmupRequests;
    private final int writeAhead;

    /** The default {@code writeAhead}: ten batches of 16 written ahead of the outcomes read. */
    public static final int DEFAULT_WRITE_AHEAD = 160;

    /** A run writing every request at once (the job works through a backlog). */
    public SoakRun(JobSettings settings, SoakInputs inputs, Duration timeout, Consumer<String> progress) {
        this(settings, inputs, timeout, 0, progress);
    }

    /** As {@link #SoakRun(JobSettings, SoakInputs, Duration, double, int, Consumer)} without a warm-up. */
    public SoakRun(JobSettings settings, SoakInputs inputs, Duration timeout, double requestsPerSecond,
            Consumer<String> progress) {
        this(settings, inputs, timeout, requestsPerSecond, 0, progress);
    }

    /**
     * @param settings the job's topics and Kafka client properties
     * @param timeout the longest the run waits for the outcomes
     * @param requestsPerSecond the pace requests are written at, while results are read (an open-loop arrival
     *     rate: latency then shows how the job serves requests as they come, not how long a backlog takes); 0
     *     writes them all at once before reading (this constructor; the one with a write-ahead bounds it)
     * @param warmupRequests requests of the measured run's work ({@link SoakInputs#warmupValue(int)}) written
     *     all at once and read back before the clock starts, as {@code loupe bench} runs a warm-up batch: the JIT
     *     compiles the job's code and the heap's first figure is taken on them, outside the measured window; 0
     *     measures from a cold job
     * @param progress receives one line per tenth of the run
     */
    public SoakRun(JobSettings settings, SoakInputs inputs, Duration timeout, double requestsPerSecond,
            int warmupRequests, Consumer<String> progress) {
        this(settings, inputs, timeout, requestsPerSecond, warmupRequests, WriteAhead.UNBOUNDED, progress);
    }

    /**
     * As {@link #SoakRun(JobSettings, SoakInputs, Duration, double, int, Consumer)}, with the requests of an
     * unpaced run ({@code requestsPerSecond} 0) written at most {@code writeAhead} ahead of the outcomes read back
     * (0: all at once): the job keeps a backlog of that many, and the harness does not write the whole run in its
     * first seconds, on the cores the job computes on.
     */
    public SoakRun(JobSettings settings, SoakInputs inputs, Duration timeout, double requestsPerSecond,
            int warmupRequests, int writeAhead, Consumer<String> progress) {
        if (writeAhead < 0) {
            throw new IllegalArgumentException("the write-ahead must be >= 0 requests, got " + writeAhead);
        }
        this.writeAhead = writeAhead;
        if (!(requestsPerSecond >= 0) || Double.isInfinite(requestsPerSecond)) {
            throw new IllegalArgumentException("the request rate must be >= 0, got " + requestsPerSecond);
        }
        if (warmupRequests < 0) {
            throw new IllegalArgumentException("the warm-up requests must be >= 0, got " + warmupRequests);
        }
        this.warmupRequests = warmupRequests;
        this.settings = settings;
        this.inputs = inputs;
        this.timeout = timeout;
        this.progress = progress;
        this.requestsPerSecond = requestsPerSecond;
    }

    /** The allowed growth of the heap after warm-up: 10 % of the warm-up figure, at least 16 MiB. */
    public static long flatTolerance(long warmupBytes) {
        return Math.max(16L << 20, warmupBytes / 10);
    }

    /** Runs the soak; {@code jobRunning} says whether the job can still produce outcomes. */
    public Report run(BooleanSupplier jobRunning) {
        SoakTally tally = new SoakTally(inputs);
        List<HeapSample> heap = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer = consumer()) {
            List<TopicPartition> partitions = new ArrayList<>();
            for (String topic : outputTopics()) {
                consumer.partitionsFor(topic).forEach(p -> partitions.add(new TopicPartition(p.topic(), p.partition())));
            }
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            if (warmupRequests > 0) {
                warmUp(consumer, tally, jobRunning);
                heap.add(new HeapSample(0, 0, usedHeapAfterGc(), true));
                progress.accept(String.format(java.util.Locale.ROOT, "heap after the warm-up, after full GC %.1f MiB",
                        mib(heap.get(0).usedBytes())));
            }
            return measure(consumer, tally, heap, jobRunning);
        }
    }

    /** The measured run: the clock starts as the first request is written. */
    private Report measure(KafkaConsumer<byte[], byte[]> consumer, SoakTally tally, List<HeapSample> heap,
            BooleanSupplier jobRunning) {
        long start = System.nanoTime();
        long startEpochMillis = System.currentTimeMillis();
        SoakLatencies latencies = new SoakLatencies(inputs);
        WriteAhead ahead = new WriteAhead(requestsPerSecond > 0 ? WriteAhead.UNBOUNDED : writeAhead);
        Runnable write = () -> {
            int written = produce(inputs.count(), SoakInputs::id, inputs::value,
                    i -> latencies.written(i, System.currentTimeMillis()), start, requestsPerSecond, ahead);
            progress.accept(String.format(java.util.Locale.ROOT, "%d requests written in %.1f s", written,
                    (System.nanoTime() - start) / 1e9));
        };
        CompletableFuture<Void> writing;
        if (requestsPerSecond > 0 || writeAhead != WriteAhead.UNBOUNDED) {
            writing = CompletableFuture.runAsync(write, runnable -> {
                Thread writer = new Thread(runnable, "loupe-soak-writer");
                writer.setDaemon(true);
                writer.start();
            });
        } else {
            write.run();
            writing = CompletableFuture.completedFuture(null);
        }
        ResultTimings timings = new ResultTimings();
        int tenths = 0;
        long deadline = start + timeout.toNanos();
        long settle = 2 * settings.checkpointInterval().toNanos() + Duration.ofSeconds(3).toNanos();
        long completedAt = 0;
        long settleUntil = Long.MAX_VALUE;
        boolean timedOut = false;
        boolean jobStopped = false;
        long lastJobCheck = System.nanoTime();
        AvroDeserializer<AnnotationResult> results = new AvroDeserializer<>(AnnotationResult.class);
        AvroDeserializer<AnnotationFailure> failures = new AvroDeserializer<>(AnnotationFailure.class);
        while (System.nanoTime() < settleUntil) {
            for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                if (r.topic().equals(settings.deadLetterTopic())) {
                    AnnotationFailure f = failures.deserialize(r.value());
                    int index = f.getId() != null ? SoakInputs.index(f.getId())
                            : SoakInputs.indexOfUndecodable(bytes(f.getRawInput()));
                    tally.deadLetter(index, f.getErrorCode());
                } else {
                    AnnotationResult result = results.deserialize(r.value());
                    tally.result(SoakInputs.index(result.getId()));
                    var t = result.getTimings();
                    latencies.result(SoakInputs.index(result.getId()), System.currentTimeMillis(),
                            t.getFetchMillis() + t.getPreprocessMillis() + t.getQueueMillis()
                                    + t.getInferenceMillis(), r.timestamp());
                    timings.add(result);
                }
            }
            ahead.accounted(tally.accounted());
            if (tally.complete() && completedAt == 0) {
                completedAt = System.nanoTime();
                settleUntil = completedAt + settle; // a duplicate would be committed within a checkpoint or two
            }
            if (completedAt == 0 && writing.isCompletedExceptionally()) {
                break; // a request was not written and would never be accounted for: the join below says which
            }
            while (tenths < 10 && tally.accounted() >= (long) inputs.count() * (tenths + 1) / 10) {
                tenths++;
                // full collections at the warm-up (the first tenth, unless the warm-up requests gave it) and the end
                boolean forced = heap.isEmpty() || tenths == 10;
                heap.add(new HeapSample(10 * tenths, tally.accounted(),
                        forced ? usedHeapAfterGc() : usedHeapAfterLastGc(), forced));
                progress.accept(String.format(java.util.Locale.ROOT, "%3d%% accounted for (%d), heap after %s %.1f MiB",
                        heap.get(heap.size() - 1).percent(), tally.accounted(), forced ? "full GC" : "latest GC",
                        mib(heap.get(heap.size() - 1).usedBytes())));
            }
            if (completedAt == 0 && System.nanoTime() > deadline) {
                timedOut = true;
                break;
            }
            if (completedAt == 0 && System.nanoTime() - lastJobCheck > Duration.ofSeconds(5).toNanos()) {
                lastJobCheck = System.nanoTime();
                if (!jobRunning.getAsBoolean()) {
                    jobStopped = true;
                    break;
                }
            }
        }
        ahead.close();   // a run that ended early (time limit, job stopped) writes nothing more
        if (writing.isCompletedExceptionally()) {
            writing.join();   // throws the writer's failure
        }
        if (heap.isEmpty() || heap.get(heap.size() - 1).accounted() < tally.accounted()
                || !heap.get(heap.size() - 1).forced()) {
            heap.add(new HeapSample((int) (100L * tally.accounted() / inputs.count()), tally.accounted(), usedHeapAfterGc(),
                    true));
        }
        long end = completedAt != 0 ? completedAt : System.nanoTime();
        double seconds = (end - start) / 1e9;
        // the measured window in wall-clock time, so that per-thread CPU samples can be cut to it (docs/bench)
        progress.accept(String.format(java.util.Locale.ROOT, "window %.3f %.3f (epoch seconds, first request written "
                + "to last outcome read)", startEpochMillis / 1e3, startEpochMillis / 1e3 + seconds));
        boolean flat = heap.size() >= 2
                && heap.get(heap.size() - 1).usedBytes() - heap.get(0).usedBytes() <= flatTolerance(heap.get(0).usedBytes());
        return new Report(tally.counts(), seconds, tally.accounted() / seconds, latencies.steadyPerSecond(),
                List.copyOf(heap), flat, timedOut,
                jobStopped, timings.summary(), latencies.byLength(),
                latencies.servedByLength(), latencies.commitWaitByLength());
    }

    private List<String> outputTopics() {
        List<String> topics = new ArrayList<>(settings.allTopics());
        topics.remove(settings.requestsTopic());
        return topics;
    }

    /**
     * Writes the warm-up requests all at once and reads the output topics until each has its outcome, leaving
     * {@code consumer} past them; an outcome seen twice, or one no warm-up request explains, counts in {@code tally}
     * as foreign (a later duplicate of a warm-up request does too, in the measured run: its id is no request's).
     */
    private void warmUp(KafkaConsumer<byte[], byte[]> consumer, SoakTally tally, BooleanSupplier jobRunning) {
        long begin = System.nanoTime();
        produce(warmupRequests, SoakInputs::warmupId, inputs::warmupValue, i -> {}, begin, 0,
                new WriteAhead(WriteAhead.UNBOUNDED));
        AvroDeserializer<AnnotationResult> results = new AvroDeserializer<>(AnnotationResult.class);
        AvroDeserializer<AnnotationFailure> failures = new AvroDeserializer<>(AnnotationFailure.class);
        java.util.Set<String> seen = new java.util.HashSet<>();
        long deadline = begin + timeout.toNanos();
        long lastJobCheck = begin;
        while (seen.size() < warmupRequests) {
            for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                String id = r.topic().equals(settings.deadLetterTopic()) ? failures.deserialize(r.value()).getId()
                        : results.deserialize(r.value()).getId();
                if (!SoakInputs.isWarmupId(id) || !seen.add(id)) {
                    tally.result(-1);
                }
            }
            boolean timedOut = System.nanoTime() > deadline;
            boolean stopped = false;
            if (!timedOut && System.nanoTime() - lastJobCheck > Duration.ofSeconds(5).toNanos()) {
                lastJobCheck = System.nanoTime();
                stopped = !jobRunning.getAsBoolean();
            }
            if (timedOut || stopped) {
                throw new IllegalStateException(String.format(java.util.Locale.ROOT,
                        "the warm-up's %d requests got %d outcomes before the %s", warmupRequests, seen.size(),
                        timedOut ? "time limit" : "job stopped"));
            }
        }
        progress.accept(String.format(java.util.Locale.ROOT, "warm-up: %d requests written and read back in %.1f s",
                warmupRequests, (System.nanoTime() - begin) / 1e9));
    }

    /**
     * Writes requests 0 to {@code count - 1} ({@code id} and {@code value} of each), paced at {@code rate} per second
     * from {@code start} (nanos) when that is above 0 and no further ahead of the outcomes than {@code ahead}
     * allows, telling {@code written} as each is sent; returns how many were written (fewer once {@code ahead} is
     * closed).
     */
    private int produce(int count, IntFunction<String> id, IntFunction<byte[]> value, IntConsumer written, long start,
            double rate, WriteAhead ahead) {
        Properties p = new Properties();
        p.putAll(settings.kafkaProperties().asMap());
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, settings.bootstrapServers());
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        // paced, each request is sent as it is written (its latency counts from then); all at once, in batches
        p.put(ProducerConfig.LINGER_MS_CONFIG, rate > 0 ? "0" : "10");
        // batches of 512 KiB, which the producer takes from and gives back to its pool: with the default 16 KiB every
        // request (a 95 KB JPEG inline) got a batch buffer of its own size, allocated and dropped in the job's JVM
        p.put(ProducerConfig.BATCH_SIZE_CONFIG, String.valueOf(512 << 10));
        AcknowledgedSends.orderedProducer(p); // the soak's topics were created a moment ago
        try (var producer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
            AcknowledgedSends<byte[], byte[]> sends = new AcknowledgedSends<>(producer);
            int sent = 0;
            for (int i = 0; i < count; i++) {
                if (!ahead.awaitRoom(i)) {
                    break;
                }
                String key = id.apply(i);
                if (rate > 0) {
                    long due = start + (long) (i * 1e9 / rate);
                    for (long wait = due - System.nanoTime(); wait > 0; wait = due - System.nanoTime()) {
                        LockSupport.parkNanos(wait);
                    }
                }
                written.accept(i);
                sends.send(new ProducerRecord<>(settings.requestsTopic(), key.getBytes(StandardCharsets.UTF_8),
                        value.apply(i)), key);
                sent++;
            }
            sends.awaitAll(); // a request not written would never get an outcome: say so instead of waiting for it
            return sent;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while writing the soak's requests", e);
        }
    }

    private KafkaConsumer<byte[], byte[]> consumer() {
        Properties c = new Properties();
        c.putAll(settings.kafkaProperties().asMap());
        c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, settings.bootstrapServers());
        c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        return new KafkaConsumer<>(c, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    /** Heap in use after a full collection (two, so objects with finalizers or cleaners go too). */
    /**
     * The heap in use after the JVM's most recent collection (of any collector), without forcing one; the heap in
     * use now when no collection ran yet.
     */
    static long usedHeapAfterLastGc() {
        com.sun.management.GcInfo latest = null;
        for (java.lang.management.GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            if (gc instanceof com.sun.management.GarbageCollectorMXBean sun) {
                com.sun.management.GcInfo info = sun.getLastGcInfo();
                if (info != null && (latest == null || info.getEndTime() > latest.getEndTime())) {
                    latest = info;
                }
            }
        }
        if (latest == null) {
            return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
        }
        long used = 0;
        for (java.lang.management.MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            java.lang.management.MemoryUsage after = latest.getMemoryUsageAfterGc().get(pool.getName());
            if (pool.getType() == java.lang.management.MemoryType.HEAP && after != null) {
                used += after.getUsed();
            }
        }
        return used;
    }

    static long usedHeapAfterGc() {
        System.gc();
        System.gc();
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }

    private static byte[] bytes(ByteBuffer buffer) {
        if (buffer == null) {
            return null;
        }
        ByteBuffer b = buffer.duplicate();
        byte[] out = new byte[b.remaining()];
        b.get(out);
        return out;
    }

    static double mib(long bytes) {
        return bytes / (1024.0 * 1024.0);
    }
}
