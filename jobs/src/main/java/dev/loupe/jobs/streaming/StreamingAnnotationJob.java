package dev.loupe.jobs.streaming;

import dev.loupe.config.JobOptions;
import dev.loupe.config.ModelOptions;
import dev.loupe.jobs.ModelRuntimes;
import dev.loupe.jobs.ObjectReuse;
import dev.loupe.flink.AnnotationPipeline;
import dev.loupe.flink.PipelineOptions;
import dev.loupe.model.api.AnnotatorFactory;
import dev.loupe.schemas.AnnotationFailure;
import dev.loupe.schemas.AnnotationResult;
import dev.loupe.schemas.serde.ValueFormat;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;
import org.apache.flink.configuration.ExecutionOptions;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.core.execution.CheckpointingMode;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.consumer.OffsetResetStrategy;

/**
 * The streaming annotation job: requests topic → {@link AnnotationPipeline} → results topics and dead-letter
 * topic, both written exactly once (Kafka transactions committed with Flink checkpoints, so downstream readers
 * use {@code isolation.level=read_committed}). Submit to a cluster with
 * {@code flink run -c dev.loupe.jobs.streaming.StreamingAnnotationJob loupe-jobs.jar --bootstrap-servers ... --model ...}
 * (the same options as {@code loupe run}); {@code loupe run} runs it locally.
 */
public final class StreamingAnnotationJob {

    /** Name of the job in the Flink UI and REST API. */
    public static final String JOB_NAME = "loupe-streaming-annotation";

    /**
     * Whether the job's network buffers are flushed every {@code execution.buffer-timeout.interval} (Flink's default,
     * 100 ms): false. The job's one network edge carries the unioned failures from the main chain to the dead-letter
     * sink's task, and both sinks write exactly once: a record is readable only once the checkpoint after it
     * completes, and the checkpoint's barrier flushes the buffer in front of it (as does the end of input). A timed
     * flush would hand a dead letter over sooner without it being readable sooner, at the price of a flusher thread
     * waking ten times a second in every subtask (docs/benchmarks.md, "The streaming job's side, session 9").
     */
    static final boolean FLUSH_ON_TIMER = false;

    private StreamingAnnotationJob() {}

    /**
     * Cluster entry point: reads the cluster's configuration (its config.yaml and {@code flink run -D KEY=VALUE},
     * as the execution environment carries them) overridden by its {@link StreamingArguments} in {@code args}
     * ({@code --config FILE}, {@code -D}, flags; the same as {@code loupe run}'s), and runs the job on the context environment.
     */
    public static void main(String[] args) throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        Configuration config = StreamingArguments.ARGUMENTS.parse(env.getConfiguration().toMap(), args);
        if (config.getOptional(JobOptions.BOOTSTRAP_SERVERS).isEmpty()) {
            throw new IllegalArgumentException("--bootstrap-servers is required when submitting to a cluster (or -D "
                    + JobOptions.BOOTSTRAP_SERVERS.key() + "=HOST:PORT)");
        }
        JobSettings settings = JobSettings.from(config);
        AnnotatorFactory factory = ModelRuntimes.resolve(ModelOptions.model(config).orElse(null), config);
        env.configure(environmentConfiguration(settings));
        build(env, settings, factory, config);
        env.execute(JOB_NAME);
    }

    /**
     * Flink settings the job depends on: exactly-once checkpoints at the configured interval, bounded
     * fixed-delay restarts from the last checkpoint, the default parallelism, object reuse between chained
     * operators ({@link ObjectReuse}, unless {@code loupe.object-reuse} is false), and no timed flushing of network
     * buffers ({@link #FLUSH_ON_TIMER}).
     */
    public static Configuration environmentConfiguration(JobSettings settings) {
        Configuration conf = new Configuration();
        conf.set(CheckpointingOptions.CHECKPOINTING_INTERVAL, settings.checkpointInterval());
        conf.set(CheckpointingOptions.CHECKPOINTING_CONSISTENCY_MODE, CheckpointingMode.EXACTLY_ONCE);
        conf.set(ExecutionOptions.BUFFER_TIMEOUT_ENABLED, FLUSH_ON_TIMER);
        conf.set(RestartStrategyOptions.RESTART_STRATEGY, "fixed-delay");
        conf.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS, settings.restartAttempts());
        conf.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY, settings.restartDelay());
        conf.set(CoreOptions.DEFAULT_PARALLELISM, settings.parallelism());
        return ObjectReuse.set(conf, settings.objectReuse());
    }

    /**
     * Adds the job to {@code env}: Kafka source, the annotation pipeline (configured by {@code pipelineConfig},
     * see {@code LoupeOptions}) and the two exactly-once Kafka sinks.
     */
    public static void build(StreamExecutionEnvironment env, JobSettings settings, AnnotatorFactory factory,
            Configuration pipelineConfig) {
        env.enableCheckpointing(settings.checkpointInterval().toMillis(), CheckpointingMode.EXACTLY_ONCE);
        env.setParallelism(settings.parallelism());
        annotateAndSink(source(env, settings), settings, factory, pipelineConfig);
    }

    /** The requests topic as raw values (read with the extra client properties, e.g. TLS or SASL), offsets committed to the consumer group on each checkpoint. */
    public static DataStream<byte[]> source(StreamExecutionEnvironment env, JobSettings settings) {
        KafkaSource<byte[]> source = KafkaSource.<byte[]>builder()
                .setProperties(settings.kafkaProperties().toProperties())
                .setBootstrapServers(settings.bootstrapServers())
                .setTopics(settings.requestsTopic())
                .setGroupId(settings.groupId())
                .setStartingOffsets(OffsetsInitializer.committedOffsets(OffsetResetStrategy.EARLIEST))
                .setDeserializer(new RequestValueDeserializer())
                .setProperty("isolation.level", "read_committed")
                .setProperty("commit.offsets.on.checkpoint", "true")
                .build();
        return env.fromSource(source, WatermarkStrategy.noWatermarks(), "kafka-requests").uid("kafka-requests");
    }

    /**
     * The pipeline over {@code requestValues}, its results and dead letters written exactly once to Kafka; values
     * are plain Avro, or in the schema registry wire format when {@code pipelineConfig} names a registry
     * ({@link RegistrySettings}).
     */
    public static void annotateAndSink(DataStream<byte[]> requestValues, JobSettings settings,
            AnnotatorFactory factory, Configuration pipelineConfig) {
        ValueFormat format = RegistrySettings.valueFormat(pipelineConfig);
        AnnotationPipeline.Outputs outputs =
                AnnotationPipeline.fromAvro(requestValues, format, factory, PipelineOptions.from(pipelineConfig));
        outputs.results()
                .sinkTo(sink(settings, "results",
                        new ResultRecordSerializer(settings.resultsTopic(), settings.resultsTopicPerTask(), format)))
                .name("kafka-results").uid("kafka-results");
        outputs.failures()
                .sinkTo(sink(settings, "dead-letters", new FailureRecordSerializer(settings.deadLetterTopic(), format)))
                .name("kafka-dead-letters").uid("kafka-dead-letters");
    }

    private static <T> KafkaSink<T> sink(JobSettings settings, String name, KafkaRecordSerializationSchema<T> serializer) {
        return KafkaSink.<T>builder()
                .setKafkaProducerConfig(settings.kafkaProperties().toProperties())
                .setBootstrapServers(settings.bootstrapServers())
                .setRecordSerializer(serializer)
                .setDeliveryGuarantee(DeliveryGuarantee.EXACTLY_ONCE)
                .setTransactionalIdPrefix(settings.transactionalIdPrefix() + "-" + name)
                .setTransactionNamingStrategy(settings.transactionNaming())
                .setProperty("transaction.timeout.ms", String.valueOf(settings.transactionTimeout().toMillis()))
                .build();
    }
}
